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
import types
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
    "directory_core.hsds.hsds_importer",
    "directory_core.auth",
)


class PluginError(Exception):
    """A plugin is missing, broken or collides with another; the message names it."""


def installed_plugins() -> dict[str, Any]:
    """Entry points of the ``directory.plugins`` group, by name."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def describe_distribution(ep: Any) -> str:
    """``name version (folder)`` of the distribution that declares entry point ``ep``."""
    dist = getattr(ep, "dist", None)
    if dist is None:
        return "an unknown distribution"
    return f"{dist.name} {dist.version} (in {dist.locate_file('')})"


def plugin_conflicts() -> dict[str, list[str]]:
    """Plugin names that several installed distributions declare, with those
    distributions (``describe_distribution``): only one of them could be loaded, so such
    a name is refused rather than one of them silently winning."""
    by_name: dict[str, dict[str, Any]] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        by_name.setdefault(ep.name, {})[dist.name if dist else ep.value] = ep
    return {
        name: [describe_distribution(ep) for _, ep in sorted(found.items())]
        for name, found in sorted(by_name.items())
        if len(found) > 1
    }


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
    conflicts = plugin_conflicts()
    for name in enabled:
        if name in builtin_names:
            continue
        if name in conflicts:
            raise PluginError(
                f"plugin {name!r} is declared by {len(conflicts[name])} installed "
                f"distributions: {' and '.join(conflicts[name])}; uninstall all but one "
                "(pip uninstall NAME), or rename one entry point"
            )
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
    """Call ``hook_name`` through pluggy and return (plugin name, result) pairs in call
    order.

    ``per_plugin(name)`` adds arguments bound to the calling plugin (the ``register``
    callbacks). With ``log_errors`` a failing implementation is logged and skipped, and
    the others still run. Pluggy has no per-implementation arguments, so this builds a
    throw-away manager holding one proxy per implementation of ``pm`` with the same
    options (``tryfirst``, ``trylast``, ``hookwrapper``, ``wrapper``), registered in the
    same order: pluggy itself then orders the calls and runs the wrappers, exactly as
    ``pm.hook.NAME(...)`` would (``validate_offer`` is called that way directly).
    """
    caller = getattr(pm.hook, hook_name)
    implementations = caller.get_hookimpls()
    if not implementations:  # the usual case for offer_changed, after every write
        return []
    mirror = pluggy.PluginManager(hookspecs.PROJECT)
    mirror.add_hookspecs(hookspecs)
    results: list[tuple[str, Any]] = []
    for index, impl in enumerate(implementations):
        proxy = _proxy(impl, hook_name, per_plugin, log_errors, results)
        options = {k: v for k, v in impl.opts.items() if k != "specname"}
        mirror.register(
            types.SimpleNamespace(**{hook_name: hookspecs.hookimpl(**options)(proxy)}),
            name=f"{impl.plugin_name}#{index}",
        )
    spec_arguments = getattr(mirror.hook, hook_name).spec.argnames
    arguments = {name: None for name in spec_arguments}  # bound per plugin by the proxies
    arguments.update(kwargs)
    try:
        getattr(mirror.hook, hook_name)(**arguments)
    except Exception:
        if not log_errors:
            raise
        log.exception("a hook wrapper failed in %s", hook_name)
    return results


def _proxy(
    impl: pluggy.HookImpl,
    hook_name: str,
    per_plugin: Callable[[str], dict[str, Any]] | None,
    log_errors: bool,
    results: list[tuple[str, Any]],
) -> Callable[..., Any]:
    """A stand-in for ``impl`` that takes the same arguments, replaces the per-plugin
    ones and records the result (see ``call_each``)."""
    name = impl.plugin_name
    wrapping = bool(impl.opts.get("hookwrapper") or impl.opts.get("wrapper"))

    def arguments(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[list, dict]:
        if os.environ.get("DIRECTORY_TRACE_HOOKS"):
            sys.stderr.write(f"[hook] {hook_name} -> {name}\n")
        bound = per_plugin(name) if per_plugin is not None else {}
        positional = [
            bound.get(argument, value) for argument, value in zip(impl.argnames, args, strict=True)
        ]
        return positional, {k: bound.get(k, v) for k, v in kwargs.items()}

    if wrapping:

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            positional, keywords = arguments(args, kwargs)
            return (yield from impl.function(*positional, **keywords))

        proxy = wrapper
    else:

        def plain(*args: Any, **kwargs: Any) -> Any:
            positional, keywords = arguments(args, kwargs)
            try:
                result = impl.function(*positional, **keywords)
            except Exception:
                if not log_errors:
                    raise
                log.exception("plugin %r failed in %s", name, hook_name)
                return None
            results.append((name, result))
            return result

        proxy = plain
    proxy.__wrapped__ = impl.function  # type: ignore[attr-defined]  # pluggy reads its argnames
    return proxy


@dataclass
class Registry:
    """What the active plugins registered, with the plugin that supplied each item."""

    importers: dict[str, type] = field(default_factory=dict)
    importer_plugins: dict[str, str] = field(default_factory=dict)
    fields: CustomFieldSet = field(default_factory=CustomFieldSet)
    categories: list[Category] = field(default_factory=list)
    category_plugins: dict[str, str] = field(default_factory=dict)
    namespace_plugins: dict[str, str] = field(default_factory=dict)  # custom-field namespaces
    synonym_rules: list[tuple[str, str]] = field(default_factory=list)  # (plugin, rule)


def field_namespace(plugin: str) -> str:
    """The namespace of a plugin's custom fields: its name with ``-`` as ``_``."""
    return plugin.replace("-", "_")


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
                first, second = sorted((registry.importer_plugins[name], plugin))
                raise PluginError(
                    f"importer {name!r} is registered twice: by plugin {first!r} and by "
                    f"plugin {second!r}"
                )
            registry.importers[name] = importer
            registry.importer_plugins[name] = plugin

        return register

    def register_field(plugin: str) -> Callable[[CustomField], None]:
        def register(declared: CustomField) -> None:
            if not isinstance(declared, CustomField):
                raise PluginError(f"plugin {plugin!r} registered {declared!r}, not a CustomField")
            namespace = field_namespace(plugin)
            owner = registry.namespace_plugins.setdefault(namespace, plugin)
            if owner != plugin:
                first, second = sorted((owner, plugin))
                raise PluginError(
                    f"plugins {first!r} and {second!r} share the namespace {namespace!r} of "
                    "custom fields after normalisation ('-' becomes '_'); rename one entry point"
                )
            try:
                registry.fields.add(replace(declared, namespace=namespace))
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
                first, second = sorted((registry.category_plugins[category.key], plugin))
                raise PluginError(
                    f"category {category.key!r} is registered twice: by plugin {first!r} "
                    f"and by plugin {second!r}"
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


# -- the overview of `directory plugins` ---------------------------------------------------


@dataclass
class PluginInfo:
    """One row of ``directory plugins``."""

    name: str
    status: str  # built-in, disabled, enabled, installed, conflict
    distribution: str  # "name version" of the package that provides it
    hooks: list[str]  # "hook" or "hook(tryfirst, ...)"; empty if not loaded


def _hook_names(pm: pluggy.PluginManager, plugin: object, name: str) -> list[str]:
    found = []
    for attribute in dir(plugin):
        options = pm.parse_hookimpl_opts(plugin, attribute)
        if options is None:
            continue
        flags = [
            flag for flag in ("tryfirst", "trylast", "hookwrapper", "wrapper") if options.get(flag)
        ]
        hook = options.get("specname") or attribute
        found.append(f"{hook}({', '.join(flags)})" if flags else hook)
    return sorted(found)


def plugin_overview(
    enabled: Iterable[str] = (), disabled: Iterable[str] = ()
) -> tuple[list[PluginInfo], PluginError | None]:
    """Built-in and installed plugins with status, distribution and implemented hooks,
    and the error that stops the enabled ones from loading (if any). Plugins that are
    installed but not enabled are not imported, so their hooks are not listed."""
    from importlib.metadata import PackageNotFoundError, version

    enabled, disabled = list(enabled), set(disabled)
    try:
        core = f"seniorennetz-directory {version('seniorennetz-directory')}"
    except PackageNotFoundError:  # pragma: no cover - running from a plain checkout
        core = "seniorennetz-directory"
    error: PluginError | None = None
    try:
        pm = get_plugin_manager(enabled, disabled)
    except PluginError as exc:
        pm, error = pluggy.PluginManager(hookspecs.PROJECT), exc
    rows = []
    for module_path in DEFAULT_PLUGINS:
        name = _builtin_name(module_path)
        module = importlib.import_module(module_path)
        status = "disabled" if name in disabled else "built-in"
        rows.append(PluginInfo(name, status, core, _hook_names(pm, module, name)))
    conflicts = plugin_conflicts()
    for name, ep in sorted(installed_plugins().items()):
        loaded = pm.get_plugin(name)
        if name in conflicts:
            rows.append(PluginInfo(name, "conflict", " and ".join(conflicts[name]), []))
            continue
        dist = getattr(ep, "dist", None)
        distribution = f"{dist.name} {dist.version}" if dist is not None else ep.value
        hooks = _hook_names(pm, loaded, name) if loaded is not None else []
        rows.append(
            PluginInfo(name, "enabled" if name in enabled else "installed", distribution, hooks)
        )
    return rows, error
