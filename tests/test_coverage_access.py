"""Who sees the gap analysis: ``[coverage] access`` = public, staff (signed in) or off, for
the /gaps page and the GraphQL ``coverage`` query alike, over HTTP on the real app."""

from __future__ import annotations

import dataclasses
import re

import httpx
import pytest
from directory_app.assembly import create_app

from directory_core.auth import create_token
from directory_core.instance import InstanceError, parse_instance

from .conftest import running_server
from .write_fixtures import write_directory

QUERY = "{ coverage { instance matrix { district category active } } }"


@pytest.fixture(params=["public", "staff", "off"])
def site(request, tmp_path):
    directory = write_directory(f"sqlite:///{tmp_path / 'store.sqlite'}", tmp_path / "index")
    directory.instance.coverage = dataclasses.replace(
        directory.instance.coverage, access=request.param
    )
    # the API takes a token of any role; the page a session of the carrier area, where
    # editors and admins sign in
    counsellor = create_token(directory.store, "Beratung Hörde", "counsellor")[1]
    editor = create_token(directory.store, "Redaktion AWO", "editor", ["awo"])[1]
    try:
        with running_server(create_app(directory, sync_interval=None)) as server:
            yield request.param, server.url, counsellor, editor
    finally:
        directory.close()


def _graphql(url: str, token: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"{url}/graphql", json={"query": QUERY}, headers=headers).json()


def _signed_in(url: str, token: str) -> httpx.Client:
    client = httpx.Client(base_url=url)
    form = client.get("/carriers/sign-in")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    answer = client.post("/carriers/sign-in", data={"csrf": csrf, "token": token})
    assert answer.status_code == 303, answer.text
    return client


def test_access_to_the_gap_analysis(site):
    access, url, counsellor, editor = site
    anonymous = httpx.get(f"{url}/gaps")
    api = _graphql(url)
    staff_api = _graphql(url, counsellor)
    client = _signed_in(url, editor)
    try:
        staff_page = client.get("/gaps")
    finally:
        client.close()
    if access == "public":
        assert anonymous.status_code == 200 and "<svg" in anonymous.text
        assert api["data"]["coverage"]["matrix"]
    elif access == "staff":
        assert anonymous.status_code == 303
        assert anonymous.headers["location"] == "/carriers/sign-in"
        assert api["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert staff_page.status_code == 200 and "<svg" in staff_page.text
        assert "no-store" in staff_page.headers["cache-control"]
        assert staff_api["data"]["coverage"]["matrix"]
    else:
        assert anonymous.status_code == 404 and staff_page.status_code == 404
        for answer in (api, staff_api):
            assert answer["errors"][0]["extensions"]["code"] == "FORBIDDEN"
            assert "[coverage] access" in answer["errors"][0]["message"]


def test_access_setting_is_checked():
    instance = parse_instance({"instance": {"name": "X"}, "coverage": {"access": "staff"}})
    assert instance.coverage.access == "staff"
    with pytest.raises(InstanceError, match="coverage.access: must be one of public, staff"):
        parse_instance({"instance": {"name": "X"}, "coverage": {"access": "intern"}})
