"""The plugin manager and the registries filled by plugins.

Built-in behaviour is written as ordinary plugins, listed by module path in
``DEFAULT_PLUGINS``; third-party plugins come from the entry-point group
``directory.plugins``. Only the plugins an instance enables are active; built-ins can be
disabled by name. ``DIRECTORY_TRACE_HOOKS=1`` prints every hook call to stderr.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from importlib.metadata import entry_points
from typing import Any

import pluggy
from directory_search.expansion import SynonymError, Synonyms

from . import hookspecs
from .custom_fields import CustomField, CustomFieldError, CustomFieldSet
from .model import Category

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "directory.plugins"
DEFAULT_PLUGINS: tuple[str, ...] = (
    "directory_core.importers.csv_importer",
    "directory_core.importers.xlsx_importer",
    "directory_core.importers.json_importer",
)


class PluginError(Exception):
    """A plugin is missing, broken or collides with another; the message names it."""


def installed_plugins() -> dict[str, Any]:
    """Entry points of the ``directory.plugins`` group, by name."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def _builtin_name(module_path: str) -> str:
    return module_path.rsplit(".", 1)[-1]


def get_plugin_manager(
    enabled: Iterable[str] = (),
    disabled: Iterable[str] = (),
    extra: Iterable[tuple[str, object]] = (),
) -> pluggy.PluginManager:
    """A fresh plugin manager with the built-ins (minus ``disabled``), the enabled
    third-party plugins and ``extra`` (name, plugin) pairs (tests register temporary
    plugins this way). Raises ``PluginError`` for an unknown or broken plugin and for a
    misspelled hook (``check_pending``)."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    disabled = set(disabled)
    builtin_names = {_builtin_name(p) for p in DEFAULT_PLUGINS}
    unknown_disabled = disabled - builtin_names
    if unknown_disabled:
        raise PluginError(
            f"cannot disable unknown built-in plugin(s) {', '.join(sorted(unknown_disabled))}; "
            f"built-ins: {', '.join(sorted(builtin_names))}"
        )
    for module_path in DEFAULT_PLUGINS:
        name = _builtin_name(module_path)
        if name not in disabled:
            _register(pm, importlib.import_module(module_path), name)
    available = installed_plugins()
    for name in enabled:
        if name in builtin_names:
            continue
        if name not in available:
            raise PluginError(
                f"plugin {name!r} is enabled in the instance but not installed; installed: "
                f"{', '.join(sorted(available)) or 'none'} (pip install the plugin's package)"
            )
        try:
            plugin = available[name].load()
        except Exception as exc:
            raise PluginError(f"plugin {name!r} failed to load: {exc!r}") from exc
        _register(pm, plugin, name)
    for name, plugin in extra:
        _register(pm, plugin, name)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:  # has .plugin, not .plugin_name
        raise PluginError(f"plugin {pm.get_name(exc.plugin)!r}: {exc}") from exc
    if os.environ.get("DIRECTORY_TRACE_HOOKS"):
        pm.trace.root.setwriter(lambda message: sys.stderr.write(f"[hook] {message}"))
        pm.enable_tracing()
    return pm


def _register(pm: pluggy.PluginManager, plugin: object, name: str) -> None:
    try:
        pm.register(plugin, name=name)
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin {name!r}: {exc}") from exc
    except ValueError as exc:  # registered twice
        raise PluginError(f"plugin {name!r} cannot be registered: {exc}") from exc


def call_each(
    pm: pluggy.PluginManager,
    hook_name: str,
    *,
    log_errors: bool = False,
    per_plugin: Callable[[str], dict[str, Any]] | None = None,
    **kwargs: Any,
) -> list[tuple[str, Any]]:
    """Call every implementation of ``hook_name`` separately, in registration order, and
    return (plugin name, result) pairs; each gets only the arguments it asks for
    (pluggy's rule). ``per_plugin(name)`` adds arguments bound to the calling plugin
    (the ``register`` callbacks). With ``log_errors`` a failing plugin is logged and
    skipped."""
    results = []
    for impl in getattr(pm.hook, hook_name).get_hookimpls():  # registration order
        if os.environ.get("DIRECTORY_TRACE_HOOKS"):
            sys.stderr.write(f"[hook] {hook_name} -> {impl.plugin_name}\n")
        arguments = {**kwargs, **(per_plugin(impl.plugin_name) if per_plugin else {})}
        try:
            result = impl.function(**{name: arguments[name] for name in impl.argnames})
        except Exception:
            if not log_errors:
                raise
            log.exception("plugin %r failed in %s", impl.plugin_name, hook_name)
            continue
        results.append((impl.plugin_name, result))
    return results


@dataclass
class Registry:
    """What the active plugins registered, with the plugin that supplied each item."""

    importers: dict[str, type] = field(default_factory=dict)
    importer_plugins: dict[str, str] = field(default_factory=dict)
    fields: CustomFieldSet = field(default_factory=CustomFieldSet)
    categories: list[Category] = field(default_factory=list)
    category_plugins: dict[str, str] = field(default_factory=dict)
    synonym_rules: list[tuple[str, str]] = field(default_factory=list)  # (plugin, rule)


def collect(pm: pluggy.PluginManager, core_category_keys: Iterable[str] = ()) -> Registry:
    """Run the registration hooks; duplicates raise ``PluginError`` naming both sides."""
    registry = Registry()

    def register_importer(plugin: str) -> Callable[[type], None]:
        def register(importer: type) -> None:
            name = getattr(importer, "name", None)
            if not isinstance(name, str) or not name:
                raise PluginError(f"plugin {plugin!r} registered an importer without a name")
            for attribute in ("description", "formats"):
                if not getattr(importer, attribute, None):
                    raise PluginError(f"importer {name!r} of plugin {plugin!r} has no {attribute}")
            if not inspect.isclass(importer) or not callable(getattr(importer, "read", None)):
                raise PluginError(f"importer {name!r} of plugin {plugin!r} has no read()")
            if name in registry.importers:
                raise PluginError(
                    f"importer {name!r} is registered twice: by plugin "
                    f"{registry.importer_plugins[name]!r} and by plugin {plugin!r}"
                )
            registry.importers[name] = importer
            registry.importer_plugins[name] = plugin

        return register

    def register_field(plugin: str) -> Callable[[CustomField], None]:
        def register(declared: CustomField) -> None:
            if not isinstance(declared, CustomField):
                raise PluginError(f"plugin {plugin!r} registered {declared!r}, not a CustomField")
            try:
                registry.fields.add(replace(declared, namespace=plugin.replace("-", "_")))
            except CustomFieldError as exc:
                raise PluginError(str(exc)) from exc

        return register

    core_keys = set(core_category_keys)

    def register_category(plugin: str) -> Callable[[Category], None]:
        def register(category: Category) -> None:
            if category.key in core_keys:
                raise PluginError(
                    f"category {category.key!r} of plugin {plugin!r} is already defined by "
                    "the core or the instance"
                )
            if category.key in registry.category_plugins:
                raise PluginError(
                    f"category {category.key!r} is registered twice: by plugin "
                    f"{registry.category_plugins[category.key]!r} and by plugin {plugin!r}"
                )
            registry.categories.append(category)
            registry.category_plugins[category.key] = plugin

        return register

    def register_synonym(plugin: str) -> Callable[[str], None]:
        def register(rule: str) -> None:
            if not isinstance(rule, str):
                raise PluginError(f"plugin {plugin!r} registered {rule!r}, not a synonym rule")
            try:
                Synonyms().add_rule(rule, f"synonym rule of plugin {plugin!r}")
            except SynonymError as exc:
                raise PluginError(str(exc)) from exc
            registry.synonym_rules.append((plugin, rule))

        return register

    for hook, factory in (
        ("register_importers", register_importer),
        ("register_custom_fields", register_field),
        ("register_categories", register_category),
        ("register_synonyms", register_synonym),
    ):
        call_each(pm, hook, per_plugin=lambda name, f=factory: {"register": f(name)})
    return registry
