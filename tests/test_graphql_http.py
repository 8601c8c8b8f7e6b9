"""The guarded GraphQL endpoint (``directory_schema.http``): limits on body, variables,
response and time, malformed requests answered as JSON errors, masked internals with a
request id, capped messages, brief logs without what the client typed.

Each test names the finding of issue 8 it reproduces."""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time

import httpx
import pytest
from directory_app.assembly import create_app
from directory_schema.http import check_variables

from directory_core.geocoding import GeocodingError
from directory_core.instance import Limits

from .conftest import DORTMUND_FILE

OFFERS_BY_KIND = "query($k: [OfferKind!]) { offers(filter: {kinds: $k}) { totalCount } }"


def refused(response: httpx.Response, status: int, *, limit: str | None = None) -> str:
    """The message of a request refused as a whole, checked for its shape."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["data"] is None
    [error] = body["errors"]
    if limit is not None:
        assert error["extensions"]["limit"] == limit
        assert f"limits.{limit}" in error["message"]
    return error["message"]


@pytest.fixture
def small_limits_server(directory, serve):
    """A server with tiny response and time limits, and a geocoder that takes 2 s."""

    def slow_geocode(text):
        time.sleep(2)  # the client has its answer by now: this one is dropped
        raise GeocodingError("too slow")

    directory.instance.limits = dataclasses.replace(
        Limits(), max_response_bytes=2_000, max_execution_seconds=0.5
    )
    directory.geocode = slow_geocode
    return serve(create_app(directory, sync_interval=None))


# -- finding 3: limits on body, variables, response, time -------------------------------


def test_a_12_mb_body_is_refused_at_once_and_other_requests_go_on(known_server):
    url = f"{known_server.url}/graphql"
    other: list[float] = []

    def typename():
        started = time.perf_counter()
        httpx.post(url, json={"query": "{ __typename }"}, timeout=30)
        other.append(time.perf_counter() - started)

    thread = threading.Thread(target=typename)
    body = b'{"query": "{ __typename }' + b" " * 12_000_000 + b'"}'
    started = time.perf_counter()
    thread.start()
    response = httpx.post(url, content=body, headers={"content-type": "application/json"})
    elapsed = time.perf_counter() - started
    thread.join()
    message = refused(response, 413, limit="max_body_bytes")
    assert message.startswith("The request body is larger than 65536 bytes")
    assert elapsed < 3  # before: 3 s for 12 MB
    assert other[0] < 1  # before: blocked for 3.5 s


def test_a_body_without_content_length_is_cut_off_at_the_limit(known_server):
    def chunks():
        for _ in range(100):
            yield b"{" + b" " * 10_000

    response = httpx.post(
        f"{known_server.url}/graphql",
        content=chunks(),
        headers={"content-type": "application/json"},
    )
    refused(response, 413, limit="max_body_bytes")


def test_a_long_query_string_is_refused(directory, serve):
    directory.instance.limits = dataclasses.replace(Limits(), max_body_bytes=1_000)
    server = serve(create_app(directory, sync_interval=None))
    response = httpx.get(
        f"{server.url}/graphql",
        params={"query": "{ __typename } #" + "x" * 2_000},
        headers={"Accept": "application/json"},
    )
    refused(response, 414, limit="max_body_bytes")


def test_a_long_list_in_variables_is_refused(known_server):
    response = httpx.post(
        f"{known_server.url}/graphql",
        json={"query": OFFERS_BY_KIND, "variables": {"k": ["SERVICE"] * 5_000}},
    )
    message = refused(response, 400, limit="max_variable_list_length")
    assert message.startswith("A list in variables has 5000 items; at most 100 allowed")


def test_large_variables_are_refused(known_server):
    response = httpx.post(
        f"{known_server.url}/graphql",
        json={
            "query": "query($t: String) { offers(text: $t) { totalCount } }",
            "variables": {"t": "x" * 20_000},
        },
    )
    refused(response, 400, limit="max_variables_bytes")


def test_check_variables_is_linear_and_counts_nested_values():
    limits = Limits()
    check_variables({"a": [{"b": "x" * 100}] * 100}, limits)  # 10 kB: fine
    with pytest.raises(Exception, match="max_variables_bytes"):
        check_variables({"a": [{"b": "x" * 200}] * 100}, limits)
    nested: list = []
    for _ in range(40):
        nested = [nested]
    with pytest.raises(Exception, match="nested more than 32 deep"):
        check_variables({"a": nested}, limits)


def test_a_response_over_the_limit_is_refused(small_limits_server):
    response = httpx.post(
        f"{small_limits_server.url}/graphql",
        json={"query": "{ categories { key label parent { key label } } }"},
    )
    message = refused(response, 400, limit="max_response_bytes")
    assert "larger than 2000 bytes" in message


def test_a_request_over_the_time_limit_is_answered_and_the_worker_stays_free(
    small_limits_server,
):
    started = time.perf_counter()
    response = httpx.post(
        f"{small_limits_server.url}/graphql",
        json={"query": '{ geocode(query: "Hörder Bahnhofstraße 16") { lat } }'},
        timeout=30,
    )
    assert time.perf_counter() - started < 1.9
    message = refused(response, 503, limit="max_execution_seconds")
    assert message.startswith("The request took longer than 0.5 seconds")
    health = httpx.get(f"{small_limits_server.url}/healthz")
    assert health.json() == {"status": "ok"}


def test_nested_category_lists_are_refused_by_cost(known_server):
    # before: parent/children with 20 aliases at depth 11 answered 24.8 MB in up to 6 s
    inner = "key"
    for level in range(10):
        inner = f"children {{ c{level}: children {{ {inner} }} }}" if level < 5 else inner
    started = time.perf_counter()
    response = httpx.post(
        f"{known_server.url}/graphql", json={"query": f"{{ categories {{ {inner} }} }}"}
    )
    assert time.perf_counter() - started < 1
    refused(response, 400, limit="max_query_cost")


# -- finding 4: malformed requests -------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"42", "The request must be a JSON object"),
        (b'"x"', "The request must be a JSON object"),
        (b"null", "The request must be a JSON object"),
        (b"[]", "The request must be a JSON object"),
        (b"\xff\xfe{}", "The request body is not UTF-8 text"),
        (b"[" * 30_000 + b"]" * 30_000, "The JSON of the request is nested too deeply"),
        (b"{", "The request body is not valid JSON"),
    ],
    ids=["number", "string", "null", "list", "not UTF-8", "deeply nested", "broken"],
)
def test_malformed_bodies_are_400_with_a_graphql_error(known_server, body, message):
    response = httpx.post(
        f"{known_server.url}/graphql", content=body, headers={"content-type": "application/json"}
    )
    assert refused(response, 400).startswith(message)
    assert len(response.json()["errors"][0]["extensions"]["requestId"]) == 12


def test_json_that_only_the_standard_library_reads_is_read_as_before(known_server):
    """Bodies are read with orjson, and with the standard library when orjson refuses
    them: an integer beyond 64 bits still reaches GraphQL's own check of the Int."""
    big = 123456789012345678901234567890
    response = httpx.post(
        f"{known_server.url}/graphql",
        content=(
            '{"query": "query($n: Int) { offers(first: $n) { totalCount } }", '
            '"variables": {"n": ' + str(big) + "}}"
        ),
        headers={"content-type": "application/json"},
    )
    message = response.json()["errors"][0]["message"]
    assert "not valid JSON" not in message and "Int" in message


def test_deeply_nested_variables_are_refused(known_server):
    variables = "[" * 10_000 + "]" * 10_000
    response = httpx.post(
        f"{known_server.url}/graphql",
        content='{"query": "{ __typename }", "variables": {"k": ' + variables + "}}",
        headers={"content-type": "application/json"},
    )
    assert "nested" in refused(response, 400)


@pytest.mark.parametrize(
    ("request_options", "status"),
    [
        ({"content": b"query", "headers": {"content-type": "text/plain"}}, 400),
        ({"json": {"variables": {}}}, 400),
        ({"json": {"query": 42}}, 400),
    ],
    ids=["content type", "no query", "query not a string"],
)
def test_strawberrys_own_refusals_are_json_too(known_server, request_options, status):
    response = httpx.post(f"{known_server.url}/graphql", **request_options)
    refused(response, status)


# -- finding 5: internals never reach the client -------------------------------------------


def test_an_unknown_fragment_is_a_validation_error_not_a_key_error(graphql):
    error = graphql.error("{ categories { ...Missing } }")
    assert error["message"] == "Unknown fragment 'Missing'."


def test_a_long_fragment_chain_is_a_limit_not_a_recursion_error(known_server):
    chain = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} }}" for i in range(1, 300))
    query = "{ ...F1 } " + chain + " fragment F300 on Query { __typename }"
    response = httpx.post(f"{known_server.url}/graphql", json={"query": query})
    message = refused(response, 400, limit="max_query_depth")
    assert "recursion" not in message


def test_brackets_nested_past_pythons_recursion_limit_are_a_limit(known_server):
    query = "{ " + "categories { " * 1500 + "key" + " }" * 1501
    response = httpx.post(f"{known_server.url}/graphql", json={"query": query})
    message = refused(response, 400, limit="max_query_depth")
    assert "recursion" not in message


def test_an_internal_error_outside_any_field_is_masked_too():
    from directory_schema.http import GuardedGraphQL, is_internal
    from graphql import GraphQLError

    # what strawberry's depth limiter raised for `...Missing`: a KeyError, no path
    error = GraphQLError("'Missing'", original_error=KeyError("Missing"))
    assert is_internal(error)
    public = GuardedGraphQL._public(error, "abc123")
    assert public.message == "Internal server error (request abc123)."
    assert public.extensions == {"code": "INTERNAL_SERVER_ERROR", "requestId": "abc123"}
    # a value a scalar refused while coercing variables is the client's mistake
    coerced = GraphQLError("Variable '$x' got invalid value", original_error=ValueError("x"))
    assert not is_internal(coerced)


def test_a_crash_in_the_view_is_a_json_500_with_the_request_id(directory, serve, caplog):
    from directory_schema.app import DirectoryGraphQL

    class Broken(RuntimeError):
        pass

    async def broken_context(self, request, response):
        raise Broken("secret internals")

    server = serve(create_app(directory, sync_interval=None))
    original = DirectoryGraphQL.get_context
    DirectoryGraphQL.get_context = broken_context
    try:
        with caplog.at_level(logging.ERROR, logger="directory_schema.http"):
            response = httpx.post(f"{server.url}/graphql", json={"query": "{ __typename }"})
    finally:
        DirectoryGraphQL.get_context = original
    assert response.status_code == 500
    [error] = response.json()["errors"]
    request_id = error["extensions"]["requestId"]
    assert error["message"] == f"Internal server error (request {request_id})."
    assert "secret" not in response.text
    assert f"request {request_id}" in caplog.text and "secret internals" in caplog.text


def test_a_mutation_over_get_names_the_method(known_server):
    response = httpx.get(
        f"{known_server.url}/graphql",
        params={"query": "mutation { x }"},
        headers={"Accept": "application/json"},
    )
    assert refused(response, 400) == "mutations are not allowed when using GET"


# -- finding 6: errors quote at most a little of the input ------------------------------------


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("query($a: String) { offers(after: $a) { totalCount } }", {"a": "A" * 10_000}),
        (
            "query($c: [String!]) { offers(filter: {categories: $c}) { totalCount } }",
            {"c": ["c" * 10_000]},
        ),
        (
            "query($t: String) { offers(filter: {openOn: MONDAY, openAt: $t}) { totalCount } }",
            {"t": "9" * 10_000},
        ),
        ("query($i: ID!) { offer(id: $i) { title } }", {"i": "i" * 10_000}),
        ("query($p: String) { offers(near: {postcode: $p}) { totalCount } }", {"p": "4" * 150}),
        (OFFERS_BY_KIND, {"k": ["K" * 10_000]}),
    ],
    ids=["after", "filter.categories", "filter.openAt", "offer id", "postcode", "enum variable"],
)
def test_errors_quote_at_most_a_little_of_the_input(known_server, query, variables):
    response = httpx.post(
        f"{known_server.url}/graphql", json={"query": query, "variables": variables}
    )
    assert response.status_code == 200, response.text
    [error] = response.json()["errors"]
    value = next(iter(variables.values()))
    typed = (value[0] if isinstance(value, list) else value)[:81]
    assert typed not in error["message"]  # at most 80 characters of it
    assert typed[:60] in error["message"]  # but enough to recognise it
    assert len(error["message"]) < 1000


# -- finding 7: logs -------------------------------------------------------------------------

PRIVATE = "Hörder Bahnhofstraße 16"


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("query($a: String) { offers(near: {address: $a}) { totalCount } }", {"a": PRIVATE}),
        (
            "query($p: String) { offers(near: {postcode: $p}) { totalCount } }",
            {"p": f"44263 {PRIVATE}"},
        ),
        ("query($t: String) { offers(text: $t) { totalCount } }", {"t": PRIVATE}),
        ("query($t: String) { offers(text: $t, first: -1) { totalCount } }", {"t": PRIVATE}),
        ("query($q: String!) { geocode(query: $q) { lat } }", {"q": PRIVATE}),
        (OFFERS_BY_KIND, {"k": [PRIVATE]}),
        ("query($t: Int) { offers(first: $t) { totalCount } }", {"t": PRIVATE}),
        ('{ offers(text: "' + PRIVATE + '", first: "x") { totalCount } }', {}),
    ],
    ids=[
        "address",
        "postcode+street",
        "text",
        "text+bad first",
        "geocode",
        "enum",
        "int",
        "literal",
    ],
)
def test_no_address_or_search_text_in_the_logs(graphql, caplog, query, variables):
    with caplog.at_level(logging.INFO):
        graphql.post(query, **variables)
    assert caplog.records  # something was logged...
    text = caplog.text + " ".join(str(r.args) for r in caplog.records)
    for part in ("Bahnhofstra", "Hörder", "Horder", "44263"):
        assert part not in text  # ...but not what the client typed


def test_client_mistakes_are_logged_briefly_without_a_stack_trace(graphql, caplog):
    with caplog.at_level(logging.INFO):
        graphql.post(OFFERS_BY_KIND, k=["NOT_A_KIND"])
        graphql.post("{ offers(first: 1000) { totalCount } }")
    records = [r for r in caplog.records if r.name.startswith(("directory", "strawberry"))]
    assert len(records) == 2
    for record in records:
        assert record.levelno == logging.INFO
        assert record.exc_info is None
        assert record.getMessage().startswith("GraphQL request refused (request ")
    assert records[1].getMessage().endswith("BAD_USER_INPUT (first) at offers")


# -- finding 8: text without words -------------------------------------------------------------


@pytest.mark.parametrize("text", ["*", "-", "🙂", " ?! "])
def test_text_without_words_is_a_clear_error(graphql, text):
    error = graphql.error(
        "query($t: String) { offers(text: $t, sort: RELEVANCE) { totalCount } }", t=text
    )
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "text"}
    assert error["message"] == (
        'Argument "text": has no word to search for (letters or digits); '
        "leave text out to list all offers"
    )


def test_blank_text_still_means_no_text(graphql):
    assert graphql.data('{ offers(text: "  ") { totalCount } }')["offers"]["totalCount"] > 0


# -- worker threads: how many requests execute at once ------------------------------------


def test_by_default_two_threads_or_eight_where_requests_wait_on_another_server(directory):
    from directory_schema.http import default_threads

    instance = directory.instance
    postgresql = directory.store.is_postgresql
    assert postgresql is False  # the test directory's store is a SQLite file
    assert default_threads(instance, postgresql) == 2  # embedded: searches keep a core busy
    es = dataclasses.replace(instance.search, backend="elasticsearch")
    assert default_threads(dataclasses.replace(instance, search=es), postgresql) == 8
    nominatim = dataclasses.replace(instance.geocoder, nominatim_url="https://n.example.org")
    assert default_threads(dataclasses.replace(instance, geocoder=nominatim), postgresql) == 8
    assert default_threads(instance, store_is_postgresql=True) == 8


@pytest.mark.parametrize("threads", [1, 2])
def test_graphql_threads_bounds_the_requests_executed_at_once(directory, serve, threads):
    def slow_geocode(text):
        time.sleep(1.5)  # a geocoder that waits on a slow server
        raise GeocodingError("too slow")

    directory.geocode = slow_geocode
    directory.instance.server.graphql_threads = threads
    server = serve(create_app(directory, sync_interval=None))
    slow = threading.Thread(
        target=httpx.post,
        args=(f"{server.url}/graphql",),
        kwargs={"json": {"query": '{ geocode(query: "Hörder Bahnhofstraße 16") { lat } }'}},
    )
    slow.start()
    time.sleep(0.3)  # the slow request holds a thread now
    started = time.perf_counter()
    response = httpx.post(f"{server.url}/graphql", json={"query": "{ __typename }"}, timeout=30)
    waited = time.perf_counter() - started
    slow.join()
    assert response.json() == {"data": {"__typename": "Query"}}
    if threads == 1:
        assert waited > 0.8  # queued behind the slow one
    else:
        assert waited < 0.8  # a second thread was free


@pytest.mark.parametrize("value", [0, 65, "4", 2.5])
def test_graphql_threads_outside_1_to_64_or_not_a_whole_number_is_refused(tmp_path, value):
    from directory_core.instance import InstanceError, load_instance

    text = DORTMUND_FILE.read_text(encoding="utf-8")
    path = tmp_path / "instance.toml"
    shown = f'"{value}"' if isinstance(value, str) else value
    path.write_text(text + f"\n[server]\ngraphql_threads = {shown}\n", encoding="utf-8")
    with pytest.raises(InstanceError, match=r"server\.graphql_threads"):
        load_instance(path)


def test_the_response_limit_counts_bytes_not_characters(directory, serve):
    # answers are UTF-8 (Arabic labels take two bytes a letter): an answer under the
    # limit in characters but over it in bytes is refused
    query = {"query": '{ categories(lang: "ar") { label } }'}
    server = serve(create_app(directory, sync_interval=None))
    data = httpx.post(f"{server.url}/graphql", json=query).json()["data"]
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    characters, size = len(text), len(text.encode())
    assert size > characters + 100  # the labels are Arabic
    directory.instance.limits = dataclasses.replace(
        Limits(), max_response_bytes=(characters + size) // 2
    )
    limited = serve(create_app(directory, sync_interval=None))
    refused(httpx.post(f"{limited.url}/graphql", json=query), 400, limit="max_response_bytes")
