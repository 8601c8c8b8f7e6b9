"""The tabular form (``directory_core.hsds.tabular``): columns from the official schema,
typed cells, ``datapackage.json``, and nesting the tables back into services. Also: the
strict validation the HSDS tests rely on does catch what it should."""

from __future__ import annotations

import json

from directory_core.hsds.tabular import (
    TabularWriter,
    columns,
    nest_services,
    read_tables,
    typed_row,
)

from . import hsds_schemas as hs

SERVICE = {
    "id": "11111111-1111-4111-8111-111111111111",
    "organization_id": "22222222-2222-4222-8222-222222222222",
    "name": "Treff, mit \"Komma\"",
    "status": "active",
    "phones": [{"id": "33333333-3333-4333-8333-333333333333",
                "service_id": "11111111-1111-4111-8111-111111111111", "number": "0231 1"}],
    "service_at_locations": [{
        "id": "44444444-4444-4444-8444-444444444444",
        "service_id": "11111111-1111-4111-8111-111111111111",
        "location_id": "55555555-5555-4555-8555-555555555555",
        "location": {"id": "55555555-5555-4555-8555-555555555555", "location_type": "physical",
                     "latitude": 51.5, "longitude": 7.25},
    }],
}  # fmt: skip
ORG = {"id": "22222222-2222-4222-8222-222222222222", "name": "Verein", "description": "e.V."}


def test_columns_follow_the_official_order():
    assert columns("service")[:4] == ("id", "organization_id", "program_id", "name")
    assert "phones" not in columns("service")


def test_typed_rows_leave_out_empty_cells_and_read_numbers():
    row = typed_row("location", {"id": "x", "latitude": "51.5", "longitude": "7", "name": ""})
    assert row == {"id": "x", "latitude": 51.5, "longitude": 7}


def test_write_then_read_and_nest_gives_the_service_back(tmp_path):
    writer = TabularWriter(tmp_path)
    writer.add("service", {**SERVICE, "organization": ORG})
    writer.add_all("organization", [ORG, ORG])  # de-duplicated by id
    files = writer.close("Test")
    assert files[-1] == "datapackage.json" and writer.counts["organization"] == 1
    package = json.loads((tmp_path / "datapackage.json").read_text(encoding="utf-8"))
    assert [r["name"] for r in package["resources"]] == [
        "organization", "service", "service_at_location", "location", "phone",
    ]  # fmt: skip
    tables = read_tables(tmp_path)
    [service] = nest_services(tables)
    assert service == {**SERVICE, "organization": ORG}


def test_strict_validation_catches_what_plain_lets_pass():
    service = {**SERVICE, "colour": "red"}
    service["service_at_locations"] = [
        {**SERVICE["service_at_locations"][0], "floor": 2, "service_id": "not-a-uuid"}
    ]
    found = hs.errors("compiled/service.json", service)
    assert any(e.startswith("strict") and "'colour' was unexpected" in e for e in found)
    assert any(e.startswith("strict") and "'floor' was unexpected" in e for e in found)
    assert not any(e.startswith("plain") and "unexpected" in e for e in found)
    assert any("'not-a-uuid' is not a 'uuid'" in e for e in found)
    found = hs.errors("compiled/service.json", {**SERVICE, "status": "open", "name": None})
    assert any("'open' is not one of" in e for e in found)
    assert any("None is not of type 'string'" in e for e in found)
    row = {"id": "11111111-1111-4111-8111-111111111111", "name": "x", "status": "active"}
    assert any(
        "organization_id" in e.message for e in hs.tabular_validator("service").iter_errors(row)
    )
