"""Fuzzing the GraphQL endpoint (issue 8): hypothesis-graphql generates queries from the
schema, valid ones (``Mode.POSITIVE``) and broken ones (``Mode.NEGATIVE``), and posts
them to a real server. No answer may be a 5xx or over the response limit, every answer
is JSON, and the worker is healthy afterwards. Bounded in examples and time (well under
a minute in all)."""

from __future__ import annotations

import httpx
import pytest
from directory_schema.app import build_schema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode
from hypothesis_graphql import strategies as gql

from directory_core.instance import Limits

SCHEMA = str(build_schema(Limits()))
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    database=None,
)


@pytest.fixture(scope="module")
def client(known_server):
    with httpx.Client(base_url=known_server.url, timeout=30) as client:
        yield client
    assert httpx.get(f"{known_server.url}/healthz").json() == {"status": "ok"}


def check(client: httpx.Client, payload: dict | bytes) -> None:
    if isinstance(payload, bytes):
        response = client.post(
            "/graphql", content=payload, headers={"content-type": "application/json"}
        )
    else:
        response = client.post("/graphql", json=payload)
    assert response.status_code < 500, response.text
    assert len(response.content) <= Limits().max_response_bytes
    body = response.json()
    if response.status_code != 200:
        assert body["errors"], body
    for error in body.get("errors") or ():
        assert "Traceback" not in error["message"]
        assert len(error["message"]) < 1000


@FUZZ
@given(query=gql.queries(SCHEMA, mode=Mode.POSITIVE))
def test_generated_queries(client, query):
    check(client, {"query": query})


@FUZZ
@given(query=gql.queries(SCHEMA, mode=Mode.NEGATIVE))
def test_generated_broken_queries(client, query):
    check(client, {"query": query})


@settings(FUZZ, max_examples=100)
@given(
    body=st.one_of(
        st.binary(max_size=200),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=4)
                | st.dictionaries(st.sampled_from(["query", "variables", "operationName"]), inner)
            ),
            max_leaves=20,
        ).map(lambda value: httpx.Request("POST", "/", json=value).content),
    )
)
def test_arbitrary_bodies(client, body):
    check(client, body)
