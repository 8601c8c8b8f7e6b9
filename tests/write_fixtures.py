"""Helpers of the write-path tests: directories whose carriers may import CSV, tokens of
every role, and an HTTP client that signs its GraphQL requests with a token."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import httpx

from directory_core.auth import create_token, revoke_token
from directory_core.directory import Directory, open_directory
from directory_core.instance import load_instance

from .import_fixtures import load_plugin

DORTMUND = Path(__file__).parent.parent / "instances" / "dortmund.toml"
CARRIER_A, CARRIER_B = "awo", "caritas"
#: the CSV importer reads columns named after the offer fields, for every carrier
CSV_SETTINGS = {
    "csv": {
        "carriers": {
            key: {"delimiter": ",", "columns": {}}
            for key in ("awo", "caritas", "diakonie", "drk", "paritaet", "shdo", "stadt-dortmund")
        }
    }
}
ROLES = ("anonymous", "counsellor", "editor_a", "editor_b", "admin", "expired", "revoked")


def write_directory(store_url: str, index_path: Path, with_awo: bool = True, **search) -> Directory:
    """Dortmund on ``store_url`` (embedded index at ``index_path``, or the ``[search]``
    settings ``search``), CSV imports for all carriers, and the AWO example plugin."""
    instance = load_instance(DORTMUND)
    instance = dataclasses.replace(
        instance,
        store_url=store_url,
        importers={**instance.importers, **CSV_SETTINGS},
        search=dataclasses.replace(instance.search, **(search or {"path": str(index_path)})),
    )
    plugins = [("awo", load_plugin("awo_spreadsheet", "directory_plugin_awo"))] if with_awo else []
    return open_directory(instance, extra_plugins=plugins)


def role_tokens(directory: Directory) -> dict[str, str | None]:
    """A token per role of the authorization matrix (``None``: anonymous). ``expired``
    is an admin token past its end, ``revoked`` an admin token revoked."""
    store = directory.store
    tokens: dict[str, str | None] = {"anonymous": None}
    tokens["counsellor"] = create_token(store, "Beratung Hörde", "counsellor")[1]
    tokens["editor_a"] = create_token(store, "Redaktion AWO", "editor", [CARRIER_A])[1]
    tokens["editor_b"] = create_token(store, "Redaktion Caritas", "editor", [CARRIER_B])[1]
    tokens["admin"] = create_token(store, "Verwaltung", "admin")[1]
    expired_id, tokens["expired"] = create_token(store, "Abgelaufen", "admin", expires_days=1)
    with store.transaction() as conn:
        from directory_core import tables as t
        from directory_core.store import utcnow

        conn.execute(
            t.api_tokens.update()
            .where(t.api_tokens.c.id == expired_id)
            .values(expires_at=utcnow().replace(year=2020))
        )
    revoked_id, tokens["revoked"] = create_token(store, "Widerrufen", "admin")
    revoke_token(store, revoked_id)
    return tokens


class ApiClient:
    """GraphQL over HTTP with ``Authorization: Bearer TOKEN`` (none for anonymous)."""

    def __init__(self, url: str, token: str | None = None):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=url, timeout=60, headers=headers)

    def post(self, query: str, **variables: Any) -> dict[str, Any]:
        response = self.http.post("/graphql", json={"query": query, "variables": variables})
        assert response.status_code == 200, response.text
        return response.json()

    def data(self, query: str, **variables: Any) -> dict[str, Any]:
        result = self.post(query, **variables)
        assert "errors" not in result, result["errors"]
        return result["data"]

    def error(self, query: str, **variables: Any) -> dict[str, Any]:
        result = self.post(query, **variables)
        assert len(result.get("errors") or []) == 1, result
        return result["errors"][0]

    def upload(self, query: str, content: bytes, filename: str, **variables: Any) -> dict:
        """A GraphQL multipart request with ``content`` as ``$file``."""
        operations = {"query": query, "variables": {**variables, "file": None}}
        response = self.http.post(
            "/graphql",
            data={
                "operations": json.dumps(operations),
                "map": json.dumps({"0": ["variables.file"]}),
            },
            files={"0": (filename, content, "text/csv")},
        )
        assert response.status_code == 200, response.text
        return response.json()

    def close(self) -> None:
        self.http.close()


OFFER_FIELDS = "id version title status verifiedAt carrier { key }"

CREATE = f"""
mutation($input: OfferInput!) {{ createOffer(input: $input) {{ {OFFER_FIELDS} }} }}
"""
UPDATE = f"""
mutation($id: ID!, $version: Int!, $input: OfferPatch!) {{
  updateOffer(id: $id, version: $version, input: $input) {{ {OFFER_FIELDS} }}
}}
"""
ARCHIVE = f"""
mutation($id: ID!, $version: Int!, $reason: String) {{
  archiveOffer(id: $id, version: $version, reason: $reason) {{ {OFFER_FIELDS} }}
}}
"""
RESTORE = f"""
mutation($id: ID!, $version: Int!) {{
  restoreOffer(id: $id, version: $version) {{ {OFFER_FIELDS} }}
}}
"""
VERIFY = f"""
mutation($id: ID!, $version: Int!) {{
  verifyOffer(id: $id, version: $version) {{ {OFFER_FIELDS} }}
}}
"""
IMPORT = """
mutation($file: Upload!, $carrier: String, $dryRun: Boolean, $full: Boolean) {
  importOffers(importer: "csv", file: $file, carrier: $carrier, dryRun: $dryRun, full: $full) {
    carrier records created updated unchanged archived rejected dryRun runId
    rejections { location field reason }
  }
}
"""


def offer_input(carrier: str, title: str = "Mittagstisch am Markt", **more: Any) -> dict:
    return {
        "title": title,
        "kind": "MEETING_PLACE",
        "carrier": carrier,
        "categories": ["encounter.meeting"],
        "address": {"street": "Hörder Bahnhofstraße 1", "postcode": "44263", "city": "Dortmund"},
        "location": {"lat": 51.4847, "lon": 7.4996},
        **more,
    }


def csv_source(rows: list[dict[str, str]]) -> bytes:
    """A CSV file for the ``csv`` importer with ``CSV_SETTINGS``."""
    import csv
    import io

    fields = ["external_id", "title", "kind", "categories", "street", "postcode", "city"]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields)
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {"kind": "meeting_place", "categories": "encounter.meeting", "street":
             "Hörder Bahnhofstraße 1", "postcode": "44263", "city": "Dortmund", **row}
        )  # fmt: skip
    return out.getvalue().encode("utf-8")
