"""What every resolver gets as ``info.context``: one typed object instead of a dict.

``app.DirectoryGraphQL.get_context`` builds one per request; tests that execute the schema
directly build one with just the directory (``Context(directory)``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from directory_core.auth import Authentication, authenticate
from directory_core.directory import Directory

if TYPE_CHECKING:  # the cache and the extra types import the query types that use this
    from .cache import OfferCache
    from .extra import ExtraTypes


@dataclass
class Context:
    """The request's context.

    ``directory``: the directory the request works on. ``offers``: where to load offers
    from (the app's ``OfferCache``; ``None``: the directory). ``extra``: the typed custom
    fields of the instance's plugins (``extra.ExtraTypes``). ``auth``: who sent the
    request. ``request`` and ``response``: Starlette's, when the request came over HTTP.
    """

    directory: Directory
    offers: OfferCache | None = None
    extra: ExtraTypes | None = None
    request: Any = None
    response: Any = None
    _auth: Authentication | None = field(default=None, repr=False)

    @property
    def auth(self) -> Authentication:
        """Who sent the request: the ``authenticate`` hook, asked on first use, so in the
        request's worker thread (a token is a store read, a single sign-on plugin may
        ask a key server) and only by fields that need it; anonymous without a request."""
        if self._auth is None:
            self._auth = (
                authenticate(self.directory, self.request)
                if self.request is not None
                else Authentication()
            )
        return self._auth
