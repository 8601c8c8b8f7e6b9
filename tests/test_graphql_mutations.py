"""The write path over HTTP with real tokens: create, update (patch), archive, restore,
verify, import (multipart upload), staff-only fields, history, staleness, error codes."""

from __future__ import annotations

import pytest

from directory_core.store import utcnow

from .write_fixtures import (
    ARCHIVE,
    CREATE,
    IMPORT,
    RESTORE,
    UPDATE,
    VERIFY,
    ApiClient,
    csv_source,
    offer_input,
    role_tokens,
    write_directory,
)


@pytest.fixture
def api(tmp_path, serve):
    """(directory, {role: client}) on a real server (SQLite store, embedded index)."""
    from directory_app.assembly import create_app

    directory = write_directory(f"sqlite:///{tmp_path / 'store.sqlite'}", tmp_path / "index")
    tokens = role_tokens(directory)
    server = serve(create_app(directory, sync_interval=None, on_shutdown=directory.close))
    clients = {role: ApiClient(server.url, token) for role, token in tokens.items()}
    yield directory, clients
    for client in clients.values():
        client.close()


FIND = """
query($text: String!) {
  offers(near: {lat: 51.4847, lon: 7.4996}, radiusKm: 2, text: $text) {
    edges { node { id title } }
  }
}
"""
STAFF_VIEW = """
query($id: ID!) {
  offer(id: $id) {
    version internalNote verifiedBy extra { awo { transportService mealsOnWheelsZone } }
    history { version who how note changes { field old new } }
  }
}
"""


def test_create_update_archive_restore_verify(api):
    directory, clients = api
    editor, anonymous = clients["editor_a"], clients["anonymous"]
    created = editor.data(
        CREATE,
        input=offer_input(
            "awo",
            "Quokka-Mittagstisch",
            kind="SERVICE",
            contact={"phone": "0231 123456"},
            internalNote="Frau B., 0231 999",
            extra={"awo": {"transportService": True}},
        ),
    )["createOffer"]
    offer_id = created["id"]
    assert created["version"] == 1 and created["carrier"] == {"key": "awo"}
    # written through the API, found by nearby search at once (the write syncs the index)
    found = anonymous.data(FIND, text="quokka")["offers"]["edges"]
    assert [e["node"]["id"] for e in found] == [offer_id]

    # only the fields given change; custom fields merge field by field
    patched = editor.data(
        UPDATE,
        id=offer_id,
        version=1,
        input={
            "title": "Quokka-Mittagstisch Hörde",
            "extra": {"awo": {"mealsOnWheelsZone": "SUED"}},
        },
    )["updateOffer"]
    assert patched["version"] == 2 and patched["title"] == "Quokka-Mittagstisch Hörde"
    stored = directory.get(offer_id)
    assert stored.address.street == "Hörder Bahnhofstraße 1" and stored.kind == "service"
    assert stored.extra == {"awo": {"transport_service": True, "meals_on_wheels_zone": "sued"}}

    staff = clients["counsellor"].data(STAFF_VIEW, id=offer_id)["offer"]
    assert staff["internalNote"] == "Frau B., 0231 999"
    assert staff["extra"]["awo"] == {"transportService": True, "mealsOnWheelsZone": "SUED"}
    newest, first = staff["history"]
    assert (newest["version"], newest["who"], newest["how"]) == (2, "Redaktion AWO", "api")
    assert {c["field"] for c in newest["changes"]} == {"title", "extra"}
    assert first["version"] == 1
    public = anonymous.data(STAFF_VIEW, id=offer_id)["offer"]
    assert public["internalNote"] is None and public["history"] is None
    assert public["verifiedBy"] is None and public["version"] == 2

    archived = editor.data(ARCHIVE, id=offer_id, version=2, reason="Saisonende")["archiveOffer"]
    assert archived["status"] == "ARCHIVED" and archived["version"] == 3
    assert anonymous.data(FIND, text="quokka")["offers"]["edges"] == []
    restored = editor.data(RESTORE, id=offer_id, version=3)["restoreOffer"]
    assert restored["status"] == "ACTIVE"
    assert len(anonymous.data(FIND, text="quokka")["offers"]["edges"]) == 1
    before = utcnow()
    verified = editor.data(VERIFY, id=offer_id, version=4)["verifyOffer"]
    assert verified["version"] == 5 and verified["verifiedAt"] >= before.isoformat()[:19]
    staff = clients["admin"].data(STAFF_VIEW, id=offer_id)["offer"]
    assert staff["verifiedBy"] == "Redaktion AWO"
    assert [h["note"] for h in staff["history"]][2] == "Saisonende"
    assert [h["version"] for h in staff["history"]] == [5, 4, 3, 2, 1]


def test_error_codes(api):
    directory, clients = api
    editor = clients["editor_a"]
    offer = editor.data(CREATE, input=offer_input("awo"))["createOffer"]

    error = clients["anonymous"].error(VERIFY, id=offer["id"], version=1)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert "Authorization: Bearer" in error["message"]
    error = clients["revoked"].error(VERIFY, id=offer["id"], version=1)
    assert error["extensions"]["code"] == "UNAUTHENTICATED" and "revoked" in error["message"]
    error = clients["editor_b"].error(VERIFY, id=offer["id"], version=1)
    assert (
        error["extensions"]
        == {
            "code": "FORBIDDEN",
            "carrier": "awo",
        }
        and "'awo'" in error["message"]
    )
    error = editor.error(UPDATE, id=offer["id"], version=1, input={"carrier": "caritas"})
    assert error["extensions"] == {"code": "FORBIDDEN", "carrier": "caritas"}

    error = editor.error(
        UPDATE,
        id=offer["id"],
        version=1,
        input={"address": {"postcode": "4426", "city": "Dortmund"}, "title": " "},
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert {f["field"] for f in error["extensions"]["fields"]} == {
        "input.address.postcode",
        "input.title",
    }
    assert error["extensions"]["argument"] in ("input.address.postcode", "input.title")
    error = editor.error(UPDATE, id=offer["id"], version=1, input={"title": None})
    assert error["extensions"]["fields"] == [
        {"field": "input.title", "message": "must not be null"}
    ]
    error = editor.error(
        UPDATE, id=offer["id"], version=1, input={"extra": {"awo": {"mealsOnWheelsZone": "SUED"}}}
    )
    assert error["extensions"]["argument"] == "input.extra.awo.meals_on_wheels_zone"

    editor.data(VERIFY, id=offer["id"], version=1)
    error = editor.error(UPDATE, id=offer["id"], version=1, input={"title": "Zu spät"})
    assert error["extensions"] == {"code": "CONFLICT", "currentVersion": 2}
    assert directory.get(offer["id"]).title == "Mittagstisch am Markt"
    error = editor.error(VERIFY, id="00000000-0000-4000-8000-000000000999", version=1)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "id"}


def test_import_offers_by_multipart_upload(api):
    directory, clients = api
    editor = clients["editor_a"]
    source = csv_source(
        [
            {"external_id": "m-1", "title": "Wombat-Treff"},
            {"external_id": "m-2", "title": "Wombat-Runde", "postcode": "123"},
        ]
    )
    dry = editor.upload(IMPORT, source, "angebote.csv", dryRun=True)["data"]["importOffers"]
    assert (dry["created"], dry["rejected"], dry["dryRun"], dry["runId"]) == (1, 1, True, None)
    assert directory.store.count_offers() == 0
    result = editor.upload(IMPORT, source, "angebote.csv")["data"]["importOffers"]
    assert result["carrier"] == "awo" and result["records"] == 2
    assert (result["created"], result["rejected"]) == (1, 1) and result["runId"] == 1
    assert result["rejections"] == [
        {
            "location": "row 3",
            "field": "postcode",
            "reason": "column 'postcode': must be five digits, got '123'",
        }
    ]
    found = clients["anonymous"].data(FIND, text="wombat")["offers"]["edges"]
    assert [e["node"]["title"] for e in found] == ["Wombat-Treff"]
    offer_id = found[0]["node"]["id"]
    history = clients["admin"].data(STAFF_VIEW, id=offer_id)["offer"]["history"]
    assert (history[0]["who"], history[0]["how"]) == ("Redaktion AWO", "import")

    refused = clients["editor_b"].upload(IMPORT, source, "a.csv", carrier="awo")["errors"][0]
    assert refused["extensions"] == {"code": "FORBIDDEN", "carrier": "awo"}
    needs = clients["admin"].upload(IMPORT, source, "a.csv")["errors"][0]
    assert needs["extensions"] == {"code": "BAD_USER_INPUT", "argument": "carrier"}
    broken = editor.upload(IMPORT, b"\x00\x01kein csv", "kaputt.csv")["errors"][0]
    assert broken["extensions"]["code"] == "BAD_USER_INPUT"
    assert "/tmp" not in broken["message"]


STALE = """
query($days: Int!, $carrier: String) {
  staleOffers(olderThanDays: $days, carrier: $carrier) { title carrier { key } }
}
"""


def test_stale_offers_and_me(api):
    directory, clients = api
    for carrier in ("awo", "caritas"):
        clients["admin"].data(CREATE, input=offer_input(carrier, f"Alt {carrier}"))
    assert clients["editor_a"].data(STALE, days=0)["staleOffers"] == [
        {"title": "Alt awo", "carrier": {"key": "awo"}}
    ]
    assert len(clients["admin"].data(STALE, days=0)["staleOffers"]) == 2
    error = clients["editor_a"].error(STALE, days=0, carrier="caritas")
    assert error["extensions"] == {"code": "FORBIDDEN", "carrier": "caritas"}
    assert clients["counsellor"].error(STALE, days=0)["extensions"]["code"] == "FORBIDDEN"
    me = clients["editor_b"].data("{ me { name role carriers } }")["me"]
    assert me == {"name": "Redaktion Caritas", "role": "editor", "carriers": ["caritas"]}
    error = clients["expired"].error("{ me { name } }")
    assert error["extensions"]["code"] == "UNAUTHENTICATED" and "expired" in error["message"]


@pytest.mark.parametrize(
    "backend",
    [
        pytest.param("embedded", id="embedded"),
        pytest.param("elasticsearch", id="elasticsearch", marks=pytest.mark.elasticsearch),
    ],
)
def test_api_writes_reach_nearby_search_within_the_sync_interval(backend, tmp_path, serve):
    """Created: found near its place; internal note: never found; archived: gone."""
    import time

    import httpx
    from directory_app.assembly import SYNC_INTERVAL_SECONDS, create_app

    from .search_fixtures import elasticsearch_url, unique_prefix

    search = {}
    if backend == "elasticsearch":
        url = elasticsearch_url()
        search = {"backend": "elasticsearch", "url": url, "index_prefix": unique_prefix("write")}
    directory = write_directory(
        f"sqlite:///{tmp_path / 'store.sqlite'}", tmp_path / "index", **search
    )
    tokens = role_tokens(directory)
    server = serve(create_app(directory, on_shutdown=directory.close))
    editor, anonymous = ApiClient(server.url, tokens["editor_a"]), ApiClient(server.url)

    def found(text: str) -> list[str]:
        return [e["node"]["id"] for e in anonymous.data(FIND, text=text)["offers"]["edges"]]

    def within_interval(check) -> float:
        started = time.monotonic()
        while not check():
            assert time.monotonic() - started < SYNC_INTERVAL_SECONDS + 3, "not in time"
            time.sleep(0.05)
        return time.monotonic() - started

    try:
        created = editor.data(
            CREATE,
            input=offer_input("awo", "Kakapo-Treffpunkt", internalNote="Geheimtipp Zwergpinguin"),
        )["createOffer"]
        within_interval(lambda: found("kakapo") == [created["id"]])
        assert found("zwergpinguin") == []  # the staff-only note is not searchable
        editor.data(ARCHIVE, id=created["id"], version=1)
        within_interval(lambda: found("kakapo") == [])
    finally:
        editor.close()
        anonymous.close()
        if backend == "elasticsearch":
            httpx.delete(f"{url.rstrip('/')}/{search['index_prefix']}*", timeout=30)
