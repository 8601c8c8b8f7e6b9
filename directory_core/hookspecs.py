"""Every plugin hook of the directory, in one place.

A plugin is a module (or object) with functions marked ``@hookimpl``::

    from directory_core import hookimpl

    @hookimpl
    def register_custom_fields(register):
        register(CustomField(name="transport_service", type="boolean", label="Fahrdienst"))

Hook implementations may accept fewer arguments than listed here, so new arguments can
be added without breaking plugins. Registration hooks receive a ``register`` callback:
the core records which plugin supplied what and rejects duplicates, naming both plugins.
Every hook is called through pluggy (``plugins.call_each`` for the ones with per-plugin
arguments), so ``tryfirst``, ``trylast`` and hook wrappers work as pluggy documents.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:  # pragma: no cover
    from starlette.requests import Request

    from .auth import Principal
    from .custom_fields import CustomField
    from .directory import Directory
    from .geocoding import Geocoder
    from .importers.base import Importer
    from .instance import Instance
    from .model import Category, Offer
    from .validation import FieldError

PROJECT = "directory"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_importers(register: Callable[[type[Importer]], None]) -> None:
    """Register importer classes: call ``register(ImporterClass)`` for each.

    An importer turns a source (file path or URL) into offers of one carrier; see
    ``directory_core.importers.base.Importer``. Names must be unique across plugins.
    """


@hookspec
def register_custom_fields(register: Callable[[CustomField], None]) -> None:
    """Register custom fields: call ``register(CustomField(...))`` for each.

    The fields live under the plugin's namespace (its name), e.g. ``extra.awo.*``; they
    become typed GraphQL fields and, if ``filterable``, typed filters.
    """


@hookspec
def register_categories(register: Callable[[Category], None]) -> None:
    """Extend the category taxonomy: call ``register(Category(key, label, parent))``.

    Keys must not collide with the core's, the instance's or another plugin's.
    """


@hookspec
def register_synonyms(register: Callable[[str], None]) -> None:
    """Add search synonyms: call ``register("alzheimer, demenz")`` for each rule.

    Rules use the format of ``directory_search/data/synonyms.txt`` (Solr's): ``a, b, c``
    makes the phrases find each other, ``a => b, c`` makes ``a`` also find ``b`` and
    ``c``. They add to the shipped list and the instance's ``search.synonyms``.
    """


@hookspec
def validate_offer(offer: Offer, directory: Directory) -> Iterable[FieldError] | None:
    """Check an offer before it is written (API and imports alike).

    Return the problems found as ``FieldError`` values (an empty list or ``None`` if
    there are none); any problem rejects the write.
    """


@hookspec
def offer_changed(offers: list[Offer], change: str, directory: Directory) -> None:
    """Called after a commit with the offers that were ``created``, ``updated`` or
    ``archived`` (one call per kind of change). Errors are logged, never undo the write."""


@hookspec(firstresult=True)
def choose_geocoder(instance: Instance, default: Geocoder) -> Geocoder | None:
    """Return a geocoder to use instead of ``default`` (first non-``None`` result wins).

    A plugin's own settings are ``instance.plugin_settings.get(NAME, {})`` (the
    ``[plugins.NAME]`` table of the instance file). Return ``None`` to keep the default.
    Searches geocode what a counsellor typed, which may be a client's address: a geocoder
    that remembers its queries must offer ``without_cache()`` returning one that does not
    (the directory uses it for searches), as the default ``GeocoderChain`` does.
    """


@hookspec(firstresult=True)
def authenticate(request: Request, directory: Directory) -> Principal | None:
    """Say who sent ``request`` (a Starlette request): return a ``Principal`` (name, role,
    carriers), or ``None`` when this plugin finds no credentials of its kind (the next
    plugin is asked; nobody recognising the request means anonymous).

    Raise ``directory_core.auth.AuthenticationError`` for credentials of your kind that
    are not valid (the API answers ``UNAUTHENTICATED``); never put them in its message.
    First non-``None`` result wins; the built-in API token scheme (``Authorization:
    Bearer ID.SECRET``) is ``trylast``, so a single sign-on plugin is asked first.
    """
