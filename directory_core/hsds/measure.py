"""Measure an HSDS export and its re-import at scale (run once, not a test).

    python -m directory_core.hsds.measure --offers 100000 --folder /tmp/hsds-measure

Generates offers over the Dortmund instance (``sample.generate_offers``) into a fresh
store, exports them as an HSDS package (timed), imports the package into an empty
instance carrier by carrier through the import runner (timed), exports again and says
whether both packages are equal apart from ``last_modified``. Prints one line per step.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import shutil
import time
from pathlib import Path

from ..directory import Directory, open_directory
from ..gazetteer import Gazetteer
from ..importing import run_import
from ..instance import load_instance
from ..sample import generate_offers
from .package import export_package

INSTANCE = Path(__file__).resolve().parents[2] / "instances" / "dortmund.toml"
TIMESTAMP = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def _open(store: Path) -> Directory:
    instance = dataclasses.replace(load_instance(INSTANCE), store_url=f"sqlite:///{store}")
    return open_directory(instance)


def _same(a: Path, b: Path) -> bool:
    names = sorted(p.name for p in a.iterdir())
    if names != sorted(p.name for p in b.iterdir()):
        return False
    return all(
        TIMESTAMP.sub(b"T", (a / n).read_bytes()) == TIMESTAMP.sub(b"T", (b / n).read_bytes())
        for n in names
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--offers", type=int, default=100_000)
    parser.add_argument("--folder", type=Path, default=Path("/tmp/hsds-measure"))
    args = parser.parse_args()
    shutil.rmtree(args.folder, ignore_errors=True)
    args.folder.mkdir(parents=True)

    source = _open(args.folder / "source.sqlite")
    started = time.perf_counter()
    postcodes = [
        (code, found.lat, found.lon)
        for code, found in Gazetteer(source.districts, city="Dortmund")
        .postcodes_in("Dortmund")
        .items()
    ]
    offers = list(
        generate_offers(
            source.districts,
            [c.key for c in source.carriers],
            args.offers,
            seed=42,
            city="Dortmund",
            postcodes=postcodes,
        )
    )
    for start in range(0, len(offers), 5000):
        source.save(offers[start : start + 5000])
    print(f"setup: {args.offers} offers saved in {time.perf_counter() - started:.1f} s")

    started = time.perf_counter()
    report = export_package(source, args.folder / "export")
    seconds = time.perf_counter() - started
    size = sum(p.stat().st_size for p in (args.folder / "export").iterdir())
    print(
        f"export: {report.services} services in {seconds:.1f} s "
        f"({report.services / seconds:,.0f}/s), {len(report.files)} files, {size / 2**20:.0f} MiB"
    )
    source.close()

    target = _open(args.folder / "target.sqlite")
    started = time.perf_counter()
    imported = rejected = 0
    for carrier in target.carriers:
        result = run_import(target, carrier.key, "hsds", str(args.folder / "export"))
        imported += len(result.created)
        rejected += result.rejected_records
    seconds = time.perf_counter() - started
    print(
        f"import: {imported} offers created ({rejected} rejected) in {seconds:.1f} s "
        f"({imported / seconds:,.0f}/s), through the import runner, carrier by carrier"
    )
    started = time.perf_counter()
    export_package(target, args.folder / "again")
    print(f"export again: {time.perf_counter() - started:.1f} s")
    target.close()
    same = _same(args.folder / "export", args.folder / "again")
    print(f"round trip: packages {'equal' if same else 'DIFFERENT'} apart from last_modified")


if __name__ == "__main__":
    main()
