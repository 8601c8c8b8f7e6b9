"""What every command of the ``directory`` command line shares: the group with its
global options, the instance file, opening the directory, exit statuses and one-line
errors. The commands live in modules by subject (``main``, ``imports``, ``reports``,
``write_path``), registered on ``cli`` when ``main`` imports them."""

from __future__ import annotations

import click

from directory_core.instance import InstanceError, load_instance
from directory_core.store import StoreError

DEFAULT_INSTANCE = "instances/dortmund.toml"

#: Exit statuses (docs/plugins.md lists them): 1 rows were rejected (or another failure),
#: 2 the source could not be imported at all, 3 the instance, store or plugins are wrong.
EXIT_REJECTED = 1
EXIT_SOURCE = 2
EXIT_CONFIG = 3


class ConfigError(click.ClickException):
    """The instance file, the store or the plugins are wrong: nothing ran."""

    exit_code = EXIT_CONFIG


def _debug_traceback(ctx: click.Context, exc: BaseException) -> None:
    """With ``--debug``, the traceback of ``exc`` on stderr (before the one-line error)."""
    if (ctx.find_root().obj or {}).get("debug"):
        import traceback

        click.echo("".join(traceback.format_exception(exc)).rstrip(), err=True)


def _config_error(ctx: click.Context, exc: BaseException) -> ConfigError:
    _debug_traceback(ctx, exc)
    return ConfigError(str(exc))


def _instance(ctx: click.Context):
    path = ctx.obj["instance_path"]
    try:
        return load_instance(path)
    except InstanceError as exc:
        raise _config_error(ctx, exc) from exc


def _open(ctx: click.Context, create: bool = False):
    """The instance's directory; a wrong store, plugin or search setting is a one-line
    error (exit 3)."""
    from directory_search.base import SearchError

    from directory_core.directory import open_directory
    from directory_core.plugins import PluginError

    instance = _instance(ctx)
    try:
        return open_directory(instance, create=create)
    except (StoreError, PluginError, SearchError) as exc:
        raise _config_error(ctx, exc) from exc


@click.group()
@click.option(
    "--instance",
    "instance_path",
    envvar="DIRECTORY_INSTANCE",
    default=DEFAULT_INSTANCE,
    show_default=True,
    type=click.Path(dir_okay=False),
    help="The instance file (TOML) of the city to work on.",
)
@click.option(
    "--debug",
    is_flag=True,
    envvar="DIRECTORY_DEBUG",
    help="Show the traceback of an error, not only its one-line message.",
)
@click.pass_context
def cli(ctx: click.Context, instance_path: str, debug: bool) -> None:
    """The network and resource directory for advice offices for older people."""
    ctx.ensure_object(dict)
    ctx.obj["instance_path"] = instance_path
    ctx.obj["debug"] = debug
