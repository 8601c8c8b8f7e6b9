"""The ``directory`` command line."""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

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


# -- importing ------------------------------------------------------------------------


class _ImportProgress:
    """The ``progress`` callback of ``run_import``: a progress bar on a terminal, else a
    few plain lines for large sources (at each 20 % of a known total of 500 records or
    more; at 1000, 2000, 4000, ... records when the total is unknown)."""

    def __init__(self, tty: bool):
        self.tty = tty
        self.bar = None
        self.shown = 0
        self.next_line = 1000
        self.printed = False
        self.done = False

    def __call__(self, records: int, total: int | None) -> None:
        if self.tty and total:
            if self.bar is None:
                self.bar = click.progressbar(length=total, label="reading", show_pos=True)
                self.bar.__enter__()
            self.bar.update(records - self.shown)
            self.shown = records
        elif self.tty:
            if records % 100 == 0:
                click.echo(f"\rreading: {records} records", nl=False)
                self.shown = records
        elif total and total >= 500:
            if records * 5 // total != (records - 1) * 5 // total:
                click.echo(f"reading: {records}/{total} records ({100 * records // total} %)")
                self.printed = True
        elif not total and records >= self.next_line:
            click.echo(f"reading: {records} records")
            self.next_line *= 2
            self.printed = True
        if total and records == total:
            self.finish()

    def finish(self, announce: bool = True) -> None:
        """Reading is done: close the bar and (``announce``) say that the slower part
        follows (checks, geocoding, writing, indexing)."""
        if self.done:
            return
        self.done = True
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
        elif self.tty and self.shown:
            click.echo()
        if announce and (self.bar is not None or self.shown or self.printed):
            click.echo("checking, geocoding and writing ...")


def _open_with_plugins(ctx: click.Context):
    """``_open`` (which reports a missing or broken plugin as a one-line error)."""
    return _open(ctx)


def _natural(location: str) -> tuple[int, ...]:
    """Sort key of report locations: "row 9" before "row 10", "offers[2]" before "offers[10]"."""
    return tuple(int(n) for n in re.findall(r"\d+", location)[:1])


@cli.command("import")
@click.argument("carrier")
@click.argument("importer")
@click.argument("source")
@click.option(
    "--full", is_flag=True, help="The source lists all of the carrier's offers: archive the rest."
)
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@click.pass_context
def import_command(
    ctx: click.Context, carrier: str, importer: str, source: str, full: bool, dry_run: bool
) -> None:
    """Import SOURCE (file or URL) for CARRIER with the importer IMPORTER.

    Offers are matched by the carrier's own ids: new ones are created, changed ones
    updated; with --full the carrier's offers missing from SOURCE are archived (never
    deleted). Exit status 1 if any record was rejected, 2 if the source could not be
    read at all.
    """
    from directory_core.importers.base import SourceError
    from directory_core.importing import ImporterCrashed, ImportFailed, run_import

    directory = _open_with_plugins(ctx)
    progress = _ImportProgress(sys.stdout.isatty())
    try:
        report = run_import(
            directory, carrier, importer, source, full=full, dry_run=dry_run, progress=progress
        )
    except (SourceError, ImportFailed) as exc:
        progress.finish(announce=False)
        hint = ""
        if isinstance(exc, ImporterCrashed):
            _debug_traceback(ctx, exc)
            if not ctx.find_root().obj.get("debug"):
                hint = " (--debug shows the traceback)"
        click.echo(f"Error: {exc}{hint}", err=True)
        ctx.exit(EXIT_SOURCE)
    finally:
        directory.close()
    progress.finish(announce=False)  # a count() that was off: close the bar all the same
    click.echo(report.summary())
    if dry_run:
        for label, sign, offers in (
            ("would create", "+", report.created),
            ("would update", "~", report.updated),
            ("would archive", "-", report.archived),
        ):
            if offers:
                click.echo(f"{label} ({len(offers)}):")
                for offer in offers:
                    click.echo(f"  {sign} {offer.title} [{offer.external_id}]")
        if not (report.created or report.updated or report.archived):
            click.echo("no changes")
    if report.rejected:
        count = report.rejected_records
        click.echo(f"rejected ({count} record{'s' if count != 1 else ''}):")
        for rejection in sorted(report.rejected, key=lambda r: _natural(r.location)):
            click.echo(f"  {rejection}")
    for note in report.notes:
        click.echo(note)
    if report.run_id is not None:
        click.echo(f"recorded as import run {report.run_id} (directory import-runs)")
    if report.rejected:
        ctx.exit(EXIT_REJECTED)


def _registry(ctx: click.Context, instance):
    """What the instance's plugins register, checked as the server would check it (the
    GraphQL types of their custom fields too); a problem is a one-line error (exit 3)."""
    from directory_schema.extra import ExtraTypes

    from directory_core.plugins import PluginError, collect, get_plugin_manager

    try:
        pm = get_plugin_manager(instance.plugins, instance.disabled_plugins)
        registry = collect(pm, (c.key for c in instance.categories))
        ExtraTypes(registry.fields)
    except PluginError as exc:
        raise _config_error(ctx, exc) from exc
    return registry


@cli.command("importers")
@click.pass_context
def importers_command(ctx: click.Context) -> None:
    """List the importers of the enabled plugins (name, plugin, formats, description)."""
    instance = _instance(ctx)
    registry = _registry(ctx, instance)
    rows = [
        (name, registry.importer_plugins[name], ", ".join(cls.formats), cls.description)
        for name, cls in sorted(registry.importers.items())
    ]
    header = ("NAME", "PLUGIN", "FORMATS", "DESCRIPTION")
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(3)]
    for row in (header, *rows):
        cells = [v.ljust(w) for v, w in zip(row[:3], widths, strict=True)]
        click.echo("  ".join([*cells, row[3]]))


@cli.command("plugins")
@click.pass_context
def plugins_command(ctx: click.Context) -> None:
    """List the built-in and installed plugins: status (built-in, disabled, enabled,
    installed, conflict), the distribution and version that provides each, and the hooks
    each implements. A running server keeps the plugins it started with: restart it
    after installing or updating one."""
    from directory_core.plugins import plugin_overview

    instance = _instance(ctx)
    rows, error = plugin_overview(instance.plugins, instance.disabled_plugins)
    table = [("NAME", "STATUS", "DISTRIBUTION", "HOOKS")]
    table += [(r.name, r.status, r.distribution, ", ".join(r.hooks) or "-") for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(3)]
    for row in table:
        cells = [v.ljust(w) for v, w in zip(row[:3], widths, strict=True)]
        click.echo("  ".join([*cells, row[3]]))
    if error is not None:
        raise _config_error(ctx, error)


@cli.command("schema")
@click.pass_context
def schema_command(ctx: click.Context) -> None:
    """Print the GraphQL schema (SDL) of the instance, with its plugins' custom fields."""
    from directory_schema.app import build_schema
    from directory_schema.extra import ExtraTypes

    instance = _instance(ctx)
    registry = _registry(ctx, instance)
    click.echo(str(build_schema(instance.limits, ExtraTypes(registry.fields))))


@cli.command("import-runs")
@click.option("--limit", default=20, show_default=True, help="How many runs, newest first.")
@click.option("--carrier", default=None, help="Only the runs of this carrier.")
@click.option("--rejections", is_flag=True, help="Also list the rejections of each run.")
@click.pass_context
def import_runs_command(
    ctx: click.Context, limit: int, carrier: str | None, rejections: bool
) -> None:
    """List the recorded import runs, newest first."""
    from directory_core.importing import import_runs

    directory = _open_with_plugins(ctx)
    try:
        runs = import_runs(directory, limit=limit if carrier is None else 10_000)
    finally:
        directory.close()
    runs = [r for r in runs if carrier is None or r["carrier"] == carrier][:limit]
    if not runs:
        click.echo("no import runs recorded")
        return
    for run in runs:
        counts = ", ".join(
            f"{k} {run[k]}" for k in ("created", "updated", "unchanged", "archived", "rejected")
        )
        mode = " --full" if run["full"] else ""
        click.echo(
            f"#{run['id']}  {run['started_at']:%Y-%m-%d %H:%M}  {run['carrier']} "
            f"{run['importer']}{mode}  {run['records']} records: {counts}  by {run['user']}  "
            f"from {run['source']}"
            + (f"  FAILED: {run['error']}" if run.get("status") == "failed" else "")
        )
        if rejections:
            for line in run["rejections"]:
                click.echo(f"    {line}")


def _sizes(value: str | None) -> list[int] | None:
    if value is None:
        return None
    try:
        sizes = [int(part.replace("_", "")) for part in value.split(",") if part.strip()]
    except ValueError:
        raise click.BadParameter(f"must be numbers separated by commas, got {value!r}") from None
    if not sizes:
        raise click.BadParameter("must name at least one size")
    return sizes


@cli.command("bench")
@click.option(
    "--sizes",
    default=None,
    help="Numbers of offers, separated by commas.  [default: 10000,100000,1000000; "
    "with --quick: 10000]",
)
@click.option(
    "--backends",
    default=None,
    help="embedded and/or elasticsearch, separated by commas.  [default: embedded, "
    "and elasticsearch when an Elasticsearch URL is given]",
)
@click.option(
    "--es-url",
    envvar="DIRECTORY_BENCH_ES_URL",
    default=None,
    help="Elasticsearch on this machine, e.g. http://127.0.0.1:9200 (also DIRECTORY_BENCH_ES_URL).",
)
@click.option(
    "--es-sizes",
    default=None,
    help="Sizes for Elasticsearch.  [default: the sizes up to 100000]",
)
@click.option(
    "--repeat",
    type=click.IntRange(min=3),
    default=None,
    help="Measured requests per latency figure.  [default: 300; with --quick: 20]",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("bench-results"),
    show_default=True,
    help="Where the JSON and markdown reports go.",
)
@click.option("--quick", is_flag=True, help="The reduced smoke run: 10,000 offers, few requests.")
@click.option("--keep", is_flag=True, help="Keep each size's store, CSV files and server logs.")
@click.option(
    "--profile",
    is_flag=True,
    help="Also write pyinstrument profiles of the search, the server and the import to "
    "--out/profiles (after the measurements; needs pyinstrument).",
)
@click.option(
    "--instances",
    "instances_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder with dortmund.toml and bochum.toml.  [default: the repository's instances/]",
)
def bench_command(
    sizes: str | None,
    backends: str | None,
    es_url: str | None,
    es_sizes: str | None,
    repeat: int | None,
    out: Path,
    quick: bool,
    keep: bool,
    profile: bool,
    instances_dir: Path | None,
) -> None:
    """Measure search latency, import throughput, memory and errors under load.

    For each backend and size: generate offers over the districts of Dortmund and
    Bochum, import them from CSV into a fresh store and index, start the real server
    on 127.0.0.1 and measure it next to the same search in-process and a brute-force
    scan. Prints a markdown table with the targets and writes JSON to --out. The
    global --instance is not used: the run writes its own instance file. See
    docs/benchmarks.md.
    """
    from directory_bench import BenchConfig, run_bench
    from directory_bench.errors import BenchError

    names = [b.strip() for b in backends.split(",") if b.strip()] if backends else None
    if names is None:
        names = ["embedded"] + (["elasticsearch"] if es_url else [])
    options = {
        "sizes": _sizes(sizes),
        "es_sizes": _sizes(es_sizes),
        "repeat": repeat,
        "backends": names,
        "es_url": es_url,
        "out": out,
        "keep": keep,
        "profile": profile,
        "instances": instances_dir,
    }
    if quick:
        config = BenchConfig.quick_config(**options)
    else:
        config = BenchConfig(**{k: v for k, v in options.items() if v is not None})
    try:
        from directory_bench.report import render_markdown

        report, path = run_bench(config, log=lambda message: click.echo(message, err=True))
    except BenchError as exc:
        raise click.ClickException(str(exc)) from exc
    except KeyboardInterrupt:
        click.echo(f"interrupted; partial results in {out}", err=True)
        sys.exit(130)
    click.echo(render_markdown(report))
    click.echo(f"JSON: {path}")


# -- export (HSDS 3.0 open data; see docs/hsds.md) --------------------------------------


@cli.group("export")
def export_group() -> None:
    """Write the directory's offers in an open format."""


@export_group.command("hsds")
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--carrier", default=None, help="Only the offers of this carrier (key).")
@click.pass_context
def export_hsds_command(ctx: click.Context, out: str, carrier: str | None) -> None:
    """Write an Open Referral HSDS 3.0 data package into the folder OUT: JSON per entity
    (services.json, organizations.json, ...) and the tabular form (one CSV per table and
    datapackage.json). Active and archived offers (status inactive) are included."""
    from directory_core.hsds.package import PackageError, export_package

    directory = _open_with_plugins(ctx)
    started = time.perf_counter()
    try:
        report = export_package(directory, Path(out), carrier)
    except PackageError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        directory.close()
    click.echo(
        f"exported {report.services} services of {report.organizations} organizations to "
        f"{out} in {time.perf_counter() - started:.1f} s ({len(report.files)} files)"
    )


@cli.command()
@click.option("--category", help="Only this category key (with its sub-categories' offers).")
@click.option("--district", help="Only this district key.")
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The figures as of the end of this date (YYYY-MM-DD); default: now.",
)
@click.option("--format", "fmt", type=click.Choice(["csv", "md"]), default="md", show_default=True)
@click.pass_context
def gaps(ctx: click.Context, category: str | None, district: str | None, as_of, fmt: str) -> None:
    """Supply gaps per district and category: offers (per 1,000 older residents where
    known), reach of the postcode areas, missing qualities. See docs/gaps.md."""
    from directory_search.base import SearchError

    from directory_core.coverage import compute_coverage
    from directory_core.coverage_report import render

    directory = _open(ctx)
    try:
        if category is not None and category not in directory.taxonomy:
            known = ", ".join(sorted(directory.taxonomy.by_key))
            raise click.BadParameter(
                f"unknown category {category!r}; allowed: {known}", param_hint="--category"
            )
        if district is not None and district not in directory.district_by_key:
            known = ", ".join(sorted(directory.district_by_key))
            raise click.BadParameter(
                f"unknown district {district!r}; allowed: {known}", param_hint="--district"
            )
        try:
            coverage = compute_coverage(directory, as_of.date() if as_of else None)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--as-of") from exc
        except SearchError as exc:
            raise click.ClickException(f"search backend unavailable: {exc}") from exc
        click.echo(render(coverage.select(category, district), fmt), nl=False)
    finally:
        directory.close()


# -- tokens, history, staleness ----------------------------------------------------------


def _check_carriers(directory, carriers: tuple[str, ...]) -> None:
    """A usage error naming the first ``--carrier`` the instance does not list."""
    unknown = [c for c in carriers if c not in directory.carrier_by_key]
    if unknown:
        raise click.BadParameter(
            f"unknown carrier {unknown[0]!r}; the instance lists: "
            f"{', '.join(sorted(directory.carrier_by_key))}",
            param_hint="--carrier",
        )


@cli.group("token")
def token_group() -> None:
    """API tokens: create, list, revoke (see docs/administrators.md)."""


@token_group.command("create")
@click.option("--role", type=click.Choice(["admin", "editor", "counsellor"]), required=True)
@click.option(
    "--carrier",
    "carriers",
    multiple=True,
    metavar="KEY",
    help="A carrier whose offers an editor may write (repeat for several).",
)
@click.option("--name", required=True, help="Who or what uses the token (shown in the history).")
@click.option("--expires", type=int, default=None, metavar="DAYS", help="Valid for DAYS days.")
@click.pass_context
def token_create(
    ctx: click.Context, role: str, carriers: tuple[str, ...], name: str, expires: int | None
) -> None:
    """Create a token; its secret is printed once, alone on the last line."""
    from directory_core.auth import create_token

    directory = _open(ctx)
    try:
        _check_carriers(directory, carriers)
        try:
            token_id, token = create_token(directory.store, name, role, carriers, expires)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from exc
    finally:
        directory.close()
    scope = f" of {', '.join(sorted(set(carriers)))}" if carriers else ""
    until = f", valid for {expires} days" if expires else ""
    click.echo(f"token {token_id}: {name} ({role}{scope}{until})")
    click.echo("Keep the token now; it is not shown again (the store keeps only a hash):")
    click.echo(token)


@token_group.command("list")
@click.pass_context
def token_list(ctx: click.Context) -> None:
    """List tokens (never their secrets)."""
    from directory_core.auth import list_tokens
    from directory_core.store import utcnow

    directory = _open(ctx)
    try:
        tokens = list_tokens(directory.store)
    finally:
        directory.close()
    if not tokens:
        click.echo("no tokens")
        return
    now = utcnow()
    for token in tokens:
        if token["revoked_at"] is not None:
            state = f"revoked {token['revoked_at']:%Y-%m-%d}"
        elif token["expires_at"] is not None and token["expires_at"] <= now:
            state = f"expired {token['expires_at']:%Y-%m-%d}"
        elif token["expires_at"] is not None:
            state = f"valid until {token['expires_at']:%Y-%m-%d}"
        else:
            state = "valid"
        carriers = ",".join(token["carriers"]) or "-"
        click.echo(
            f"{token['id']}\t{token['name']}\t{token['role']}\t{carriers}\t"
            f"created {token['created_at']:%Y-%m-%d}\t{state}"
        )


@token_group.command("revoke")
@click.argument("token_id", metavar="ID", type=int)
@click.pass_context
def token_revoke(ctx: click.Context, token_id: int) -> None:
    """Revoke the token ID (it stops working at once)."""
    from directory_core.auth import revoke_token

    directory = _open(ctx)
    try:
        revoked = revoke_token(directory.store, token_id)
    finally:
        directory.close()
    if not revoked:
        raise click.ClickException(
            f"no valid token with id {token_id} (see `directory token list`)"
        )
    click.echo(f"token {token_id} revoked")


@cli.command("history")
@click.argument("offer_id")
@click.pass_context
def history_command(ctx: click.Context, offer_id: str) -> None:
    """Show the changes of an offer, newest first: when, who, how, what."""
    from directory_core.history import offer_history

    directory = _open(ctx)
    try:
        if directory.get(offer_id) is None:
            raise click.ClickException(f"no offer with id {offer_id!r}")
        rows = offer_history(directory.store.engine, offer_id)
    finally:
        directory.close()
    for row in rows:
        note = f" ({row['note']})" if row["note"] else ""
        click.echo(
            f"version {row['version']}  {row['at']:%Y-%m-%d %H:%M:%S}  {row['who']} "
            f"via {row['how']}{note}"
        )
        for name, change in sorted(row["changes"].items()):
            old = json.dumps(change["old"], ensure_ascii=False)
            new = json.dumps(change["new"], ensure_ascii=False)
            click.echo(f"    {name}: {old} -> {new}")


@cli.command("stale")
@click.option("--carrier", "carriers", multiple=True, metavar="KEY", help="Only this carrier.")
@click.option("--days", default=365, show_default=True, type=click.IntRange(min=0))
@click.pass_context
def stale_command(ctx: click.Context, carriers: tuple[str, ...], days: int) -> None:
    """List active offers not verified within --days days, as CSV on stdout."""
    import csv

    from directory_core.staleness import stale_offers

    directory = _open(ctx)
    try:
        _check_carriers(directory, carriers)
        offers = stale_offers(directory.store, days, carriers or None)
    finally:
        directory.close()
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["id", "title", "carrier", "district", "verified_at", "verified_by"])
    for offer in offers:
        verified = offer.verified_at.isoformat() if offer.verified_at else ""
        writer.writerow(
            [offer.id, offer.title, offer.carrier or "", offer.district or "", verified,
             offer.verified_by or ""]
        )  # fmt: skip


def main() -> None:
    cli(prog_name="directory")
