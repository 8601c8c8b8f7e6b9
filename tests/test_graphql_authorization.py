"""The authorization matrix: every mutation × every kind of caller × an offer of carrier
A and one of carrier B, on SQLite and PostgreSQL, over HTTP with real tokens.

Only the allowed cells (admin: all; the editor of A: A's offers; the editor of B: B's)
change anything; every other cell is refused with the right code and leaves the store
byte-identical (a dump of every table before and after)."""

from __future__ import annotations

import itertools

from directory_core.history import Actor
from directory_core.model import Address, Location, Offer, Precision

from . import stores
from .write_fixtures import (
    ARCHIVE,
    CARRIER_A,
    CARRIER_B,
    CREATE,
    IMPORT,
    RESTORE,
    ROLES,
    UPDATE,
    VERIFY,
    ApiClient,
    csv_source,
    offer_input,
    role_tokens,
    write_directory,
)

store_url = stores.store_url

MUTATIONS = (
    "createOffer",
    "updateOffer",
    "archiveOffer",
    "restoreOffer",
    "verifyOffer",
    "importOffers",
)
TARGETS = {"A": CARRIER_A, "B": CARRIER_B}
REFUSED_WITH = {
    "anonymous": "UNAUTHENTICATED",
    "expired": "UNAUTHENTICATED",
    "revoked": "UNAUTHENTICATED",
    "counsellor": "FORBIDDEN",
    "editor_a": "FORBIDDEN",
    "editor_b": "FORBIDDEN",
    "admin": None,
}


def allowed(role: str, target: str) -> bool:
    return role == "admin" or (role, target) in (("editor_a", "A"), ("editor_b", "B"))


def _offer(carrier: str, number: int) -> Offer:
    return Offer(
        id=f"00000000-0000-4000-a000-{number:012d}",
        title=f"Matrix-Angebot {carrier}",
        kind="meeting_place",
        carrier=carrier,
        categories=["encounter.meeting"],
        address=Address("Hörder Bahnhofstraße 1", "44263", "Dortmund"),
        location=Location(51.4847, 7.4996, Precision.ADDRESS),
    )


def test_authorization_matrix(store_url, tmp_path, serve):
    from directory_app.assembly import create_app

    directory = write_directory(store_url, tmp_path / "index")
    tokens = role_tokens(directory)
    offers = {"A": _offer(CARRIER_A, 1), "B": _offer(CARRIER_B, 2)}
    directory.save(list(offers.values()), actor=Actor("setup", "cli"))
    server = serve(create_app(directory, sync_interval=None, on_shutdown=directory.close))
    clients = {role: ApiClient(server.url, token) for role, token in tokens.items()}

    def prepare(mutation: str, target: str) -> int:
        """Put the target offer into the state the mutation needs; its version."""
        offer = directory.get(offers[target].id)
        wanted = "archived" if mutation == "restoreOffer" else "active"
        if offer.status != wanted:
            offer.status = wanted
            directory.save([offer], actor=Actor("setup", "cli"))
        return directory.get(offers[target].id).version

    def call(mutation: str, role: str, target: str, version: int, cell: int) -> dict:
        client, carrier, offer_id = clients[role], TARGETS[target], offers[target].id
        if mutation == "createOffer":
            return client.post(CREATE, input=offer_input(carrier, f"Neu {cell}"))
        if mutation == "updateOffer":
            return client.post(UPDATE, id=offer_id, version=version, input={"title": f"T {cell}"})
        if mutation == "archiveOffer":
            return client.post(ARCHIVE, id=offer_id, version=version, reason="Matrix")
        if mutation == "restoreOffer":
            return client.post(RESTORE, id=offer_id, version=version)
        if mutation == "verifyOffer":
            return client.post(VERIFY, id=offer_id, version=version)
        source = csv_source([{"external_id": f"cell-{cell}", "title": f"Import {cell}"}])
        return client.upload(IMPORT, source, "matrix.csv", carrier=carrier)

    outcomes: dict[tuple[str, str, str], str] = {}
    try:
        cells = itertools.product(MUTATIONS, ROLES, TARGETS)
        for cell, (mutation, role, target) in enumerate(cells):
            version = prepare(mutation, target)
            before = stores.dump_store(directory.store)
            result = call(mutation, role, target, version, cell)
            after = stores.dump_store(directory.store)
            where = f"{mutation} by {role} on the offer of {target}"
            if allowed(role, target):
                assert "errors" not in result, (where, result["errors"])
                assert after != before, f"{where}: allowed but nothing changed"
                outcomes[mutation, role, target] = "changed"
            else:
                [error] = result.get("errors") or [None]
                assert error is not None, f"{where}: not refused: {result}"
                assert error["extensions"]["code"] == REFUSED_WITH[role], (where, error)
                if error["extensions"]["code"] == "FORBIDDEN":
                    assert error["extensions"]["carrier"] == TARGETS[target], (where, error)
                assert after == before, f"{where}: refused, but the store changed"
                outcomes[mutation, role, target] = error["extensions"]["code"]
    finally:
        for client in clients.values():
            client.close()
    assert len(outcomes) == len(MUTATIONS) * len(ROLES) * len(TARGETS) == 84
    changed = sum(1 for v in outcomes.values() if v == "changed")
    assert changed == len(MUTATIONS) * 4  # admin × 2 targets + each editor × own target
    print(
        f"\nauthorization matrix ({directory.store.engine.dialect.name}): {len(outcomes)} "
        f"cells, {changed} allowed and changed, {len(outcomes) - changed} refused with the "
        "store byte-identical"
    )
