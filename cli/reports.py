"""``directory bench``, ``export hsds`` and ``gaps``: measuring, publishing and analysing
the directory."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from .context import (
    _open,
    cli,
)


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
    "--start-es",
    is_flag=True,
    help="Start a one-node Elasticsearch 7.10.2 of the run's own with .ci/elasticsearch.sh "
    "(private port and state directory), measure it too and stop it at the end "
    "(what ./dev bench does).",
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
    help="Also write pyinstrument profiles of the search, the server and the import, and a "
    "py-spy profile of the server under load, to --out/profiles (after the measurements; "
    "needs the bench extra: pyinstrument, py-spy).",
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
    start_es: bool,
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
        names = ["embedded"] + (["elasticsearch"] if es_url or start_es else [])
    options = {
        "sizes": _sizes(sizes),
        "es_sizes": _sizes(es_sizes),
        "repeat": repeat,
        "backends": names,
        "es_url": es_url,
        "start_es": start_es,
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

    directory = _open(ctx)
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
