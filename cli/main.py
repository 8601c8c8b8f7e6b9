"""The ``directory`` command line: the group (``context.cli``) and the commands that run a
directory (``init``, ``demo``, ``serve``, ``reindex``, ``sync``, ``geocode``, ``health``);
the other commands live in modules by subject and register on the group when imported
here."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import click

from . import imports, reports, write_path  # noqa: F401 (their commands register on cli)
from .context import (
    _config_error,
    _open,
    cli,
)


@cli.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """Create the store (or migrate it to the newest schema), load the instance's
    districts, carriers and categories, and create (or catch up) the search index."""
    from directory_search.base import SearchError

    directory = _open(ctx, create=True)
    try:
        try:
            directory.sync()  # creates a missing index (from the store)
        except SearchError as exc:
            raise click.ClickException(f"the search index could not be created: {exc}") from exc
        click.echo(
            f"{directory.instance.name}: store {directory.store.display_url} at schema "
            f"{directory.store.schema_revision()}, {len(directory.districts)} districts, "
            f"{len(directory.carriers)} carriers, {len(directory.taxonomy)} categories"
        )
    finally:
        directory.close()


@cli.command()
@click.option("--samples", default=400, show_default=True, help="Invented sample offers.")
@click.pass_context
def demo(ctx: click.Context, samples: int) -> None:
    """Load the demo data set (idempotent)."""
    from directory_core.demo import load_demo

    directory = _open(ctx, create=True)
    try:
        count = load_demo(directory, samples)
        click.echo(f"loaded {count} demo offers into {directory.instance.name}")
    finally:
        directory.close()


@cli.command()
@click.option("--demo", "with_demo", is_flag=True, help="Create the store and load demo data.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
@click.pass_context
def serve(ctx: click.Context, with_demo: bool, host: str, port: int, workers: int) -> None:
    """Run the server: the pages at /, GraphQL at /graphql (GraphiQL), status at /healthz."""
    from directory_app.serving import run_server
    from directory_schema.extra import ExtraTypes
    from directory_search.base import SearchMisconfigured, SearchUnavailable

    from directory_core.plugins import PluginError

    instance_path = ctx.obj["instance_path"]
    # Checked here, in the parent, before any worker is forked: a broken instance exits
    # with one line and a non-zero status instead of workers that die and respawn.
    try:
        directory = _open(ctx, create=with_demo)
    except ValueError as exc:
        raise _config_error(ctx, exc) from exc
    try:
        try:  # the server builds these types in each worker: fail here, in one line
            ExtraTypes(directory.custom_fields)
        except PluginError as exc:
            raise _config_error(ctx, exc) from exc
        if with_demo:
            from directory_core.demo import load_demo

            count = load_demo(directory)
            click.echo(f"demo data: {count} offers in {directory.instance.name}")
        try:
            directory.sync()
        except SearchMisconfigured as exc:
            raise click.ClickException(str(exc)) from exc
        except SearchUnavailable as exc:  # the workers' sync task retries
            click.echo(f"warning: search index not synced at start ({exc})", err=True)
    finally:
        directory.close()
    os.environ["DIRECTORY_INSTANCE"] = str(Path(instance_path).resolve())
    click.echo(f"Pages: http://{host}:{port}/")
    click.echo(f"GraphiQL: http://{host}:{port}/graphql")
    status = run_server(host=host, port=port, workers=workers)
    if status:
        raise click.ClickException("the server stopped: a worker could not start (see above)")


@cli.command()
@click.option(
    "--no-fallback", is_flag=True, help="Rebuild only the primary index, not the fallback's."
)
@click.pass_context
def reindex(ctx: click.Context, no_fallback: bool) -> None:
    """Rebuild the search index from the store.

    Elasticsearch: a new index is built next to the current one and the instance's alias
    is switched to it in one step, so searches keep working meanwhile. A configured
    fallback index is rebuilt too (unless --no-fallback)."""
    from directory_search.base import SearchError

    directory = _open(ctx)
    try:
        started = time.perf_counter()
        try:
            count = directory.reindex(fallback=not no_fallback)
        except SearchError as exc:
            raise click.ClickException(f"reindex failed: {exc}") from exc
        click.echo(f"indexed {count} offers in {time.perf_counter() - started:.1f} s")
    finally:
        directory.close()


@cli.command()
@click.option("--loop", is_flag=True, help="Keep syncing every --interval seconds.")
@click.option("--interval", default=2.0, show_default=True)
@click.pass_context
def sync(ctx: click.Context, loop: bool, interval: float) -> None:
    """Push pending store changes (the outbox) to the search index (and to the fallback
    index, if one is configured)."""
    from directory_search.base import SearchError, SearchUnavailable

    directory = _open(ctx)
    try:
        while True:
            try:
                applied = directory.sync()
                lags = directory.sync_lags()
                line = f"applied {applied} changes; lag {lags['primary']}"
                if "fallback" in lags:
                    line += f"; fallback lag {lags['fallback']}"
                click.echo(line)
            except SearchUnavailable as exc:
                if not loop:
                    raise click.ClickException(f"search backend unavailable: {exc}") from exc
                click.echo(f"search backend unavailable ({exc}); retrying", err=True)
            except SearchError as exc:  # waiting does not help
                raise click.ClickException(f"sync failed: {exc}") from exc
            if not loop:
                return
            time.sleep(interval)
    finally:
        directory.close()


@cli.command()
@click.argument("query")
@click.pass_context
def geocode(ctx: click.Context, query: str) -> None:
    """Resolve an address, postcode or district to a point."""
    from directory_core.geocoding import GeocodingError

    directory = _open(ctx)
    try:
        result = directory.geocode(query)
    except GeocodingError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        directory.close()
    click.echo(json.dumps(result.__dict__, ensure_ascii=False))


@cli.command()
@click.pass_context
def health(ctx: click.Context) -> None:
    """Print the status report that /healthz serves."""
    directory = _open(ctx)
    try:
        report = directory.health()
    finally:
        directory.close()
    click.echo(json.dumps(report, indent=2, ensure_ascii=False))
    if not report["ok"]:
        sys.exit(1)


def main() -> None:
    cli(prog_name="directory")
