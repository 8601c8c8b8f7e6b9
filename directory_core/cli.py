"""The ``directory`` command line."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import click

from .instance import InstanceError, load_instance
from .store import StoreError

DEFAULT_INSTANCE = "instances/dortmund.toml"


def _instance(ctx: click.Context):
    path = ctx.obj["instance_path"]
    try:
        return load_instance(path)
    except InstanceError as exc:
        raise click.ClickException(str(exc)) from exc


def _open(ctx: click.Context, create: bool = False):
    from .directory import open_directory

    instance = _instance(ctx)
    try:
        return open_directory(instance, create=create)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc


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
@click.pass_context
def cli(ctx: click.Context, instance_path: str) -> None:
    """The network and resource directory for advice offices for older people."""
    ctx.ensure_object(dict)
    ctx.obj["instance_path"] = instance_path


@cli.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """Create the store (or migrate it to the newest schema) and load the instance's
    districts, carriers and categories."""
    directory = _open(ctx, create=True)
    try:
        click.echo(
            f"{directory.instance.name}: store {directory.store.url} at schema "
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
    from .demo import load_demo

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
    """Run the GraphQL server (GraphiQL at /graphql, status at /healthz)."""
    import uvicorn

    instance_path = ctx.obj["instance_path"]
    directory = _open(ctx, create=with_demo)
    try:
        if with_demo:
            from .demo import load_demo

            count = load_demo(directory)
            click.echo(f"demo data: {count} offers in {directory.instance.name}")
        directory.sync()
    finally:
        directory.close()
    os.environ["DIRECTORY_INSTANCE"] = str(Path(instance_path).resolve())
    click.echo(f"GraphiQL: http://{host}:{port}/graphql")
    uvicorn.run(
        "directory_schema.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
    )


@cli.command()
@click.pass_context
def reindex(ctx: click.Context) -> None:
    """Rebuild the search index from the store."""
    directory = _open(ctx)
    try:
        started = time.perf_counter()
        count = directory.reindex()
        click.echo(f"indexed {count} offers in {time.perf_counter() - started:.1f} s")
    finally:
        directory.close()


@cli.command()
@click.option("--loop", is_flag=True, help="Keep syncing every --interval seconds.")
@click.option("--interval", default=2.0, show_default=True)
@click.pass_context
def sync(ctx: click.Context, loop: bool, interval: float) -> None:
    """Push pending store changes (the outbox) to the search index."""
    from directory_search.base import SearchUnavailable

    directory = _open(ctx)
    try:
        while True:
            try:
                applied = directory.sync()
                click.echo(f"applied {applied} changes; lag {directory.sync_lag()}")
            except SearchUnavailable as exc:
                if not loop:
                    raise click.ClickException(f"search backend unavailable: {exc}") from exc
                click.echo(f"search backend unavailable ({exc}); retrying", err=True)
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
    from .geocoding import GeocodingError

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
