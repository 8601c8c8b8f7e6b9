"""``directory export hsds``: the package's JSON and CSV files validate against the
official schemas (plain and strict), and export → import into an empty instance →
export gives the same package, from the JSON form and from the CSV form."""

from __future__ import annotations

import csv
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from directory_cli.main import cli

from directory_core.directory import Directory, open_directory
from directory_core.hsds.package import PackageError, export_package, read_package
from directory_core.hsds.tabular import read_tables, table_schemas
from directory_core.importing import run_import

from . import hsds_schemas as hs
from .conftest import dortmund_instance_at
from .hsds_fixtures import demo_directory
from .stores import write_instance_file

JSON_SCHEMAS = {
    "services.json": "compiled/service.json",
    "organizations.json": "compiled/organization.json",
    "service_at_locations.json": "compiled/service_at_location.json",
    "taxonomies.json": "taxonomy.json",
    "taxonomy_terms.json": "taxonomy_term.json",
}
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Directory]:
    directory = demo_directory(tmp_path_factory.mktemp("hsds-package"))
    try:
        yield directory
    finally:
        directory.close()


@pytest.fixture(scope="module")
def package(demo: Directory, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("export") / "hsds"
    report = export_package(demo, folder)
    assert report.services == demo.store.count_offers() > 200
    return folder


def package_problems(folder: Path, every: int = 1) -> list[str]:
    """Every schema problem of the package's files (every ``every``-th record)."""
    problems = []
    for name, schema in JSON_SCHEMAS.items():
        items = json.loads((folder / name).read_text(encoding="utf-8"))
        assert items, f"{name} is empty"
        for item in items[::every]:
            problems += [f"{name}: {p}" for p in hs.errors(schema, item)]
    datapackage = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    assert datapackage["profile"] == "tabular-data-package"
    tables = read_tables(folder)
    for resource in datapackage["resources"]:
        table = resource["name"]
        with (folder / resource["path"]).open(encoding="utf-8") as source:
            header = next(csv.reader(source))
        assert header == [f["name"] for f in resource["schema"]["fields"]]
        for plain in (False, True):
            validator = hs.tabular_validator(table, strict_mode=plain)
            for i, row in enumerate(tables[table][::every]):
                problems += [
                    f"{resource['path']} row {i}: {e.message}" for e in validator.iter_errors(row)
                ]
    return problems


def test_every_file_validates_strictly(package):
    assert package_problems(package) == []


def test_the_package_holds_both_forms(package):
    names = {p.name for p in package.iterdir()}
    assert set(JSON_SCHEMAS) <= names
    datapackage = json.loads((package / "datapackage.json").read_text(encoding="utf-8"))
    paths = {r["path"] for r in datapackage["resources"]}
    assert {
        "services.csv",
        "organizations.csv",
        "locations.csv",
        "service_at_location.csv",
        "attributes.csv",
        "schedules.csv",
        "taxonomies.csv",
        "taxonomy_terms.csv",
    } <= paths
    assert paths <= names
    services = next(r for r in datapackage["resources"] if r["name"] == "service")
    fields = {f["name"]: f for f in services["schema"]["fields"]}
    assert fields["organization_id"]["constraints"]["required"] is True  # tabular_required
    assert fields["status"]["constraints"]["enum"][0] == "active"
    assert fields["last_modified"]["type"] == "datetime"


def test_services_reference_what_the_package_holds(package):
    tables = read_tables(package)
    ids = {name: {row["id"] for row in rows} for name, rows in tables.items()}
    for row in tables["service"]:
        assert row["organization_id"] in ids["organization"]
    for row in tables["service_at_location"]:
        assert row["service_id"] in ids["service"] and row["location_id"] in ids["location"]
    for row in tables["attribute"]:
        assert row["taxonomy_term_id"] in ids["taxonomy_term"]
    for rows in tables.values():
        assert len({row["id"] for row in rows}) == len(rows)


def normalised(folder: Path) -> dict[str, str]:
    """The package's files with ``last_modified`` (the time of writing) blanked."""
    return {
        p.name: TIMESTAMP.sub("<last_modified>", p.read_text(encoding="utf-8"))
        for p in sorted(folder.iterdir())
    }


@pytest.mark.parametrize("form", ["json", "csv"])
def test_round_trip_into_an_empty_instance(demo, package, tmp_path, form):
    source = tmp_path / "source"
    shutil.copytree(package, source)
    if form == "csv":
        for name in JSON_SCHEMAS:
            (source / name).unlink()
    empty = open_directory(dortmund_instance_at(tmp_path / "empty.sqlite"))
    try:
        for carrier in empty.carriers:
            report = run_import(empty, carrier.key, "hsds", str(source))
            assert report.rejected == []
        assert empty.store.count_offers() == demo.store.count_offers()
        export_package(empty, tmp_path / "again")
    finally:
        empty.close()
    again = normalised(tmp_path / "again")
    assert again == normalised(package)
    assert "<last_modified>" in again["services.json"]


def test_one_carrier(demo, tmp_path):
    report = export_package(demo, tmp_path / "awo", "awo")
    services = json.loads((tmp_path / "awo" / "services.json").read_text(encoding="utf-8"))
    assert len(services) == report.services == len(demo.store.carrier_offer_ids("awo"))
    assert report.organizations == 1
    assert {s["organization"]["name"] for s in services} == {"Arbeiterwohlfahrt (AWO)"}
    with pytest.raises(PackageError, match="unknown carrier 'nobody'"):
        export_package(demo, tmp_path / "x", "nobody")


def test_the_export_command(demo, tmp_path):
    url = demo.store.engine.url.render_as_string(hide_password=False)
    instance = write_instance_file(tmp_path / "dortmund.toml", url, {"backend": "embedded"}, "")
    result = CliRunner().invoke(
        cli,
        ["--instance", str(instance), "export", "hsds", str(tmp_path / "out"), "--carrier", "drk"],
    )
    assert result.exit_code == 0, result.output
    assert re.match(
        r"exported \d+ services of 1 organizations to .*out in [\d.]+ s \(\d+ files\)",
        result.output,
    )
    assert (tmp_path / "out" / "datapackage.json").is_file()
    result = CliRunner().invoke(
        cli, ["--instance", str(instance), "export", "hsds", str(tmp_path / "o"), "--carrier", "zz"]
    )
    assert result.exit_code == 1 and "unknown carrier 'zz'" in result.output


def test_reading_a_folder_that_is_no_package(tmp_path):
    with pytest.raises(PackageError, match="neither services.json nor datapackage.json"):
        read_package(tmp_path)
    (tmp_path / "services.json").write_text("{", encoding="utf-8")
    with pytest.raises(PackageError, match="services.json: not valid JSON at line 1"):
        list(read_package(tmp_path).services())
    (tmp_path / "services.json").write_text('[\n{"id": "a"},\n{"id": \n]\n', encoding="utf-8")
    with pytest.raises(PackageError, match="services.json: line 3 is not one JSON object"):
        list(read_package(tmp_path).services())


def test_services_json_in_any_layout(package, tmp_path):
    """One service per line is streamed (other organizations skipped unparsed); any
    other layout of the JSON array is read whole: both give the same services."""
    lines = read_package(package)
    services = [s for _, s in lines.services()]
    org = services[0]["organization_id"]
    mine = [(i, s) for i, s in enumerate(services) if s["organization_id"] == org]
    assert list(lines.services({org})) == mine
    (tmp_path / "services.json").write_text(json.dumps(services, indent=2), encoding="utf-8")
    pretty = read_package(tmp_path)
    assert pretty.path is not None and list(pretty.services({org})) == mine


def test_a_cell_that_is_no_number_names_file_and_line(package, tmp_path):
    folder = tmp_path / "broken"
    shutil.copytree(package, folder)
    (folder / "services.json").unlink()
    lines = (folder / "locations.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    cells = next(csv.reader([lines[2]]))
    cells[header.index("latitude")] = "north"
    buffer = [lines[0], lines[1], ",".join(f'"{c}"' for c in cells), *lines[3:]]
    (folder / "locations.csv").write_text("\n".join(buffer) + "\n", encoding="utf-8")
    with pytest.raises(PackageError, match=r"locations.csv, line 3: could not convert"):
        read_package(folder)


def test_the_shipped_tabular_schema_is_the_official_one():
    shipped = table_schemas()
    official = hs._load("compiled/tabular.json")["properties"]
    assert shipped == {name: spec["items"] for name, spec in official.items()}
