"""`directory import`, `directory importers` and `directory import-runs` through click."""

from __future__ import annotations

import csv
import re
import time
import types
from pathlib import Path

import pytest
from click.testing import CliRunner
from directory_cli.main import cli

from directory_core import hookimpl
from directory_core import plugins as plugin_module
from directory_core.gazetteer import Gazetteer
from directory_core.importers.base import Importer, ImportRecord
from directory_core.instance import load_instance
from directory_core.model import Offer
from directory_core.sample import generate_offers
from directory_core.schedule_text import format_rules

from .import_fixtures import AWO_SAMPLE, CSV_HEADER, DORTMUND, csv_row, load_plugin, write_csv

INSTANCE_TAIL = """
[importers.csv]
delimiter = ";"
[importers.csv.columns]
external_id = "Nr"
title = "Angebot"
kind = "Art"
categories = "Kategorien"
street = "Straße"
postcode = "PLZ"
city = "Ort"
schedule = "Zeiten"
[importers.csv.values.kind]
"Treff" = "meeting_place"

# the generated 10,000-row file names its columns after the offer fields
[importers.csv.carriers.diakonie]
delimiter = ","
columns = {}
"""


class EntryPoint:
    """Stands in for an installed plugin's entry point."""

    def __init__(self, plugin):
        self.plugin = plugin

    def load(self):
        return self.plugin


@pytest.fixture
def instance_file(tmp_path, monkeypatch):
    monkeypatch.setenv("DIRECTORY_STORE_URL", f"sqlite:///{tmp_path / 'store.sqlite'}")
    text = DORTMUND.read_text(encoding="utf-8").replace("enabled = []", 'enabled = ["awo"]')
    path = tmp_path / "dortmund.toml"
    path.write_text(text + INSTANCE_TAIL, encoding="utf-8")
    awo = load_plugin("awo_spreadsheet", "directory_plugin_awo")
    monkeypatch.setattr(plugin_module, "installed_plugins", lambda: {"awo": EntryPoint(awo)})
    return str(path)


@pytest.fixture
def run(instance_file):
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(cli, ["--instance", instance_file, *args], catch_exceptions=False)

    assert invoke("init").exit_code == 0
    return invoke


def test_summary_rejections_and_exit_status(run, tmp_path):
    rows = [csv_row(1), csv_row(2, PLZ="4426"), csv_row(3, Art="Tanzkurs", PLZ="1"), csv_row(4)]
    source = write_csv(tmp_path / "a.csv", rows)
    result = run("import", "awo", "csv", source)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert re.fullmatch(
        rf"4 records from {re.escape(source)} in [\d.]+ s \(\d+/s\): created 2, updated 0, "
        r"unchanged 0, archived 0, rejected 2",
        lines[0],
    )
    assert lines[1:] == [
        "rejected (2 records):",
        "  row 3, field postcode: column 'PLZ': must be five digits, got '4426'",
        "  row 4, field kind: column 'Art': unknown kind 'Tanzkurs'; allowed: service, "
        "association, dementia_group, training_offer, advice_office, meeting_place or Dienst, "
        "Verein, Demenzgruppe, Fortbildung, Seniorenbüro, Begegnungsstätte",
        "  row 4, field postcode: column 'PLZ': must be five digits, got '1'",
        "recorded as import run 1 (directory import-runs)",
    ]
    assert result.stderr == ""

    clean = write_csv(tmp_path / "b.csv", [csv_row(1), csv_row(4, Angebot="Neu")])
    result = run("import", "awo", "csv", clean)
    assert result.exit_code == 0
    assert "created 0, updated 1, unchanged 1, archived 0, rejected 0" in result.stdout
    assert "rejected (" not in result.stdout


def test_dry_run_prints_the_changes_and_writes_nothing(run, tmp_path):
    run("import", "awo", "csv", write_csv(tmp_path / "a.csv", [csv_row(1), csv_row(2)]))
    rows = [csv_row(1, Angebot="Seniorentreff Eins (neu)"), csv_row(3)]
    result = run("import", "awo", "csv", write_csv(tmp_path / "b.csv", rows), "--full", "--dry-run")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[1:] == [
        "would create (1):",
        "  + Seniorentreff 3 [3]",
        "would update (1):",
        "  ~ Seniorentreff Eins (neu) [1]",
        "would archive (1):",
        "  - Seniorentreff 2 [2]",
    ]
    assert "(dry run: nothing written)" in result.stdout.splitlines()[0]
    assert "recorded as import run" not in result.stdout
    runs = run("import-runs")
    assert runs.stdout.count("\n") == 1  # only the first, real run
    result = run("import", "awo", "csv", str(tmp_path / "a.csv"), "--dry-run")
    assert result.stdout.splitlines()[1:] == ["no changes"]


def test_a_source_error_exits_with_2_and_says_why_on_stderr(run, tmp_path):
    result = run("import", "awo", "csv", str(tmp_path / "fehlt.csv"))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"Error: source file {tmp_path / 'fehlt.csv'} does not exist\n"

    header = ["Nr", "Titel"] + CSV_HEADER[2:]
    result = run("import", "awo", "csv", write_csv(tmp_path / "a.csv", [csv_row(1)], header=header))
    assert result.exit_code == 2
    assert "missing column(s) 'Angebot' (title); the header has: 'Nr', 'Titel'" in result.stderr

    result = run("import", "niemand", "csv", str(tmp_path / "a.csv"))
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: unknown carrier 'niemand'; the instance lists: awo")
    result = run("import", "awo", "ods", str(tmp_path / "a.csv"))
    assert (
        result.exit_code == 2
        and "unknown importer 'ods'; available: awo-xlsx, csv" in result.stderr
    )


def test_import_runs_lists_the_recorded_runs(run, tmp_path):
    assert run("import-runs").stdout == "no import runs recorded\n"
    rows = [csv_row(1), csv_row(2, PLZ="x")]
    run("import", "awo", "csv", write_csv(tmp_path / "a.csv", rows))
    run("import", "awo", "awo-xlsx", str(AWO_SAMPLE), "--full")
    result = run("import-runs")
    assert result.exit_code == 0
    newest, oldest = result.stdout.splitlines()
    assert re.fullmatch(
        r"#2  \d{4}-\d\d-\d\d \d\d:\d\d  awo awo-xlsx --full  18 records: created 10, updated 0, "
        rf"unchanged 0, archived 1, rejected 8  by \S+  from {re.escape(str(AWO_SAMPLE))}",
        newest,
    )
    assert oldest.startswith("#1  ") and "awo csv  2 records: created 1," in oldest
    detailed = run("import-runs", "--limit", "1", "--rejections").stdout.splitlines()
    assert detailed[0].startswith("#2 ") and len(detailed) == 1 + 8
    assert "    row 12, field postcode: column 'PLZ': must be five digits, got '4426'" in detailed
    assert run("import-runs", "--carrier", "diakonie").stdout == "no import runs recorded\n"


def test_importers_lists_name_plugin_formats_and_description(run):
    result = run("importers")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert re.split(r"\s{2,}", lines[0]) == ["NAME", "PLUGIN", "FORMATS", "DESCRIPTION"]
    rows = {re.split(r"\s{2,}", line)[0]: re.split(r"\s{2,}", line) for line in lines[1:]}
    assert sorted(rows) == ["awo-xlsx", "csv", "hsds", "json", "xlsx"]
    assert rows["awo-xlsx"][1:3] == ["awo", "xlsx"]
    assert rows["hsds"][1:3] == ["hsds_importer", "hsds"]
    assert rows["awo-xlsx"][3].startswith("AWO-Export (.xlsx): Nr, Angebot, Art")
    assert rows["csv"][1:3] == ["csv_importer", "csv, tsv, txt"]


FIELDS = [
    "external_id", "title", "kind", "description", "categories", "street", "postcode", "city",
    "lat", "lon", "phone", "email", "website", "channels", "languages", "schedule",
    "wheelchair", "hearing_loop", "easy_language", "accessibility_note", "free_of_charge",
    "cost_note", "target_groups",
]  # fmt: skip


def write_sample_csv(path, n):
    """``n`` realistic invented offers (directory_core.sample) as a CSV file."""
    instance = load_instance(DORTMUND)
    postcodes = [(c, r.lat, r.lon) for c, r in Gazetteer().postcodes_in("Dortmund").items()]
    offers = generate_offers(
        instance.districts, ["diakonie"], n, seed=3, city="Dortmund", postcodes=postcodes
    )
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(FIELDS)
        for offer in offers:
            a = offer.accessibility
            writer.writerow(
                [
                    offer.external_id, offer.title, offer.kind, offer.description,
                    "; ".join(offer.categories), offer.address.street, offer.address.postcode,
                    offer.address.city, offer.location.lat, offer.location.lon,
                    offer.contact.phone, offer.contact.email, offer.contact.website,
                    ", ".join(offer.channels), ", ".join(offer.languages),
                    format_rules(offer.schedule.rules), "ja" if a.wheelchair else "nein",
                    "ja" if a.hearing_loop else "nein", "ja" if a.easy_language else "nein",
                    a.note, "ja" if offer.cost.free_of_charge else "nein", offer.cost.note,
                    "; ".join(offer.target_groups),
                ]
            )  # fmt: skip
    return str(path)


@pytest.mark.slow
def test_ten_thousand_rows(run, tmp_path, capsys):
    source = write_sample_csv(tmp_path / "sample.csv", 10_000)
    started = time.perf_counter()
    result = run("import", "diakonie", "csv", source)
    seconds = time.perf_counter() - started
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[:6] == [
        "reading: 2000/10000 records (20 %)",
        "reading: 4000/10000 records (40 %)",
        "reading: 6000/10000 records (60 %)",
        "reading: 8000/10000 records (80 %)",
        "reading: 10000/10000 records (100 %)",
        "checking, geocoding and writing ...",
    ]
    assert "created 10000, updated 0, unchanged 0, archived 0, rejected 0" in lines[6]
    started = time.perf_counter()
    again = run("import", "diakonie", "csv", source, "--full")
    seconds_again = time.perf_counter() - started
    assert "created 0, updated 0, unchanged 10000, archived 0, rejected 0" in again.stdout
    with capsys.disabled():
        print(
            f"\n10,000-row CSV through `directory import`: first import {seconds:.1f} s "
            f"({10_000 / seconds:.0f} rows/s, store and index written); re-import "
            f"{seconds_again:.1f} s ({10_000 / seconds_again:.0f} rows/s, all unchanged)"
        )


def test_a_plugin_that_is_not_installed_is_a_one_line_error(instance_file, tmp_path):
    text = Path(instance_file).read_text(encoding="utf-8")
    broken = tmp_path / "broken.toml"
    broken.write_text(text.replace('enabled = ["awo"]', 'enabled = ["awo", "drk"]'), "utf-8")
    runner = CliRunner()
    for args in (["importers"], ["import", "awo", "csv", "a.csv"], ["import-runs"]):
        result = runner.invoke(cli, ["--instance", str(broken), *args])
        assert result.exit_code == 3, args  # configuration, not rejected rows (1)
        assert result.stderr == (
            "Error: plugin 'drk' is enabled in the instance but not installed; installed: awo "
            "(pip install the plugin's package)\n"
        )


class CrashingImporter(Importer):
    """Trips over a misspelt column name in its first row."""

    name = "crashing"
    description = "A bug in a plugin"
    formats = ("csv",)

    def read(self, source):
        row = {"Titel": "Treff"}
        yield ImportRecord("row 2", Offer(title=row["Title"], kind="meeting_place"))


def test_an_importer_that_crashes_is_one_line_and_a_failed_run(instance_file, monkeypatch):
    @hookimpl
    def register_importers(register):
        register(CrashingImporter)

    crashing = types.SimpleNamespace(register_importers=register_importers)
    awo = load_plugin("awo_spreadsheet", "directory_plugin_awo")
    monkeypatch.setattr(
        plugin_module,
        "installed_plugins",
        lambda: {"awo": EntryPoint(awo), "carrier-x": EntryPoint(crashing)},
    )
    text = Path(instance_file).read_text(encoding="utf-8")
    Path(instance_file).write_text(
        text.replace('enabled = ["awo"]', 'enabled = ["awo", "carrier-x"]'), encoding="utf-8"
    )
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(cli, ["--instance", instance_file, *args])

    assert invoke("init").exit_code == 0
    result = invoke("import", "awo", "crashing", "a.csv")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "Error: importer 'crashing' of plugin 'carrier-x' failed before its first record: "
        "KeyError: 'Title'; nothing was written (--debug shows the traceback)\n"
    )
    debug = runner.invoke(
        cli, ["--debug", "--instance", instance_file, "import", "awo", "crashing", "a.csv"]
    )
    assert debug.exit_code == 2 and "Traceback (most recent call last)" in debug.stderr
    assert 'row["Title"]' in debug.stderr
    runs = invoke("import-runs").stdout.splitlines()
    assert len(runs) == 2 and all("FAILED: importer 'crashing'" in line for line in runs)
