"""``directory import``, ``importers``, ``plugins``, ``schema``, ``import-runs``: bringing
carriers' data in, and what the plugins provide."""

from __future__ import annotations

import re
import sys

import click

from .context import (
    EXIT_REJECTED,
    EXIT_SOURCE,
    _config_error,
    _debug_traceback,
    _instance,
    _open,
    cli,
)

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

    directory = _open(ctx)
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

    directory = _open(ctx)
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
