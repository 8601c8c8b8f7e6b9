"""The plain-field shortcut (``directory_schema.execution``) gives exactly what graphql-core
gives: the same data and the same errors at the same paths."""

from __future__ import annotations

import copy
import enum
import gc
import math
from types import SimpleNamespace
from typing import Any

import pytest
import strawberry
from directory_schema import serializer_code, shared_serializers, types
from directory_schema.app import build_schema
from directory_schema.cache import OfferCache
from directory_schema.context import Context
from directory_schema.execution import PURE, FastExecutionContext
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from directory_core.directory import Directory
from directory_core.store_rows import OFFER_COLUMNS

from .conftest import HOERDE_44263, build_known_offers

# -- a small schema with values that break the rules ----------------------------------


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    GREEN = "green"


@strawberry.type
class Leaf:
    name: str
    score: float | None
    count: int
    colours: list[Colour]
    counts: list[int | None] | None
    scores: list[float]
    flags: list[bool | None]


@strawberry.type
class Node:
    id: strawberry.ID
    title: str
    tags: list[str]
    maybe_tags: list[str | None] | None
    colour: Colour
    child: Leaf | None
    must_child: Leaf
    children: list[Leaf]
    maybe_children: list[Leaf | None]

    @strawberry.field
    def shout(self) -> str:
        return self.title.upper()

    @strawberry.field
    def fails(self) -> str | None:
        raise ValueError("resolver failed")

    @strawberry.field(metadata={PURE: True})
    def pure_shout(self) -> str:
        return self.title.upper() if isinstance(self.title, str) else self.title

    @strawberry.field(metadata={PURE: True})
    def pure_fails(self) -> str | None:
        raise ValueError("pure resolver failed")

    @strawberry.field(metadata={PURE: True})
    def pure_tags(self) -> list[str]:
        return self.tags

    @strawberry.field(metadata={PURE: True})  # takes info: not called by the plain path
    def pure_with_info(self, info: strawberry.Info) -> str:
        return info.field_name

    @strawberry.field(metadata={PURE: True})  # takes an argument: likewise
    def pure_with_argument(self, suffix: str = "!") -> str:
        return f"{self.id}{suffix}"


def leaf(name: str = "l", score: Any = 1.5, count: Any = 3, **lists: Any) -> SimpleNamespace:
    fields = {
        "colours": ["red", "green"],
        "counts": [1, None, -(2**31)],
        "scores": [0.5, 2.0],
        "flags": [True, None],
    }
    fields.update(lists)
    return SimpleNamespace(name=name, score=score, count=count, **fields)


def node(**changes: Any) -> SimpleNamespace:
    fields = {
        "id": "n1",
        "title": "Titel",
        "tags": ["a", "b"],
        "maybe_tags": ["a", None],
        "colour": "red",
        "child": leaf(),
        "must_child": leaf("m"),
        "children": [leaf("c1"), leaf("c2", None)],
        "maybe_children": [leaf("x"), None],
    }
    fields.update(changes)
    return SimpleNamespace(**fields)


BAD_NODES = {
    "good": node(),
    "null title": node(title=None),
    "number title": node(title=42),
    "nan score": node(child=leaf(score=math.nan)),
    "huge count": node(children=[leaf(count=2**40)]),
    "tags not a list": node(tags="ab"),
    "null in tags": node(tags=["a", None]),
    "null must_child": node(must_child=None),
    "null in children": node(children=[leaf(), None]),
    "child without name": node(child=SimpleNamespace(score=1.0, count=1)),
    "unknown colour": node(colour="blue"),
    "enum member": node(colour=Colour.GREEN),
    "tuple tags": node(tags=("x", "y")),
    "generator tags": node(tags=(t for t in ["g"])),
    "unknown colour in list": node(child=leaf(colours=["red", "blue"])),
    "enum members in list": node(child=leaf(colours=[Colour.GREEN, "red"])),
    "null in colours": node(children=[leaf(colours=["red", None])]),
    "float in counts": node(child=leaf(counts=[1, 2.5])),
    "huge in counts": node(children=[leaf(counts=[2**31])]),
    "integral float in counts": node(child=leaf(counts=[3.0])),
    "null counts": node(child=leaf(counts=None)),
    "int in scores": node(child=leaf(scores=[1, 2.5])),
    "inf in scores": node(child=leaf(scores=[math.inf])),
    "number in flags": node(child=leaf(flags=[1, None])),
    "bool in counts": node(child=leaf(counts=[True])),
}


@strawberry.type
class Query:
    @strawberry.field
    def nodes(self, which: list[str]) -> list[Node | None]:
        return [BAD_NODES[name] for name in which]  # type: ignore[misc]

    @strawberry.field
    def strict_nodes(self, which: list[str]) -> list[Node]:
        return [BAD_NODES[name] for name in which]  # type: ignore[misc]


NODE_SELECTION = """
    __typename id title tags maybeTags colour shout fails
    pureShout pureFails pureTags pureWithInfo pureWithArgument
    child { name score count __typename colours counts scores flags }
    mustChild { name }
    children { name score count colours counts scores flags }
    maybeChildren { name }
    alias: title
    ...F
    ... on Node { again: tags }
"""
FRAGMENT = "fragment F on Node { child { name } children { count } }"


def run(context_class: type, query: str, variables: dict | None = None) -> tuple:
    schema = strawberry.Schema(query=Query, execution_context_class=context_class)
    result = schema.execute_sync(query, variable_values=variables)
    errors = sorted((e.message, tuple(e.path or ())) for e in result.errors or ())
    return result.data, errors


@pytest.fixture(params=[6, 1, 0], ids=lambda depth: f"inlined to depth {depth}")
def inline_depth(request, monkeypatch) -> int:
    """Serializers written as code (``serializer_code``) with nested selections inlined
    down to this depth, called below it; the cache starts empty, so they are new."""
    monkeypatch.setattr(serializer_code, "MAX_INLINE_DEPTH", request.param)
    monkeypatch.setattr(shared_serializers, "_shared", {})
    monkeypatch.setattr(shared_serializers, "CODE_AT_FIRST_USE", True)
    return request.param


@pytest.mark.parametrize("case", sorted(BAD_NODES))
@pytest.mark.parametrize("field", ["nodes", "strictNodes"])
def test_same_data_and_errors_as_graphql_core(case, field, inline_depth):
    query = f"""query($which: [String!]!) {{ {field}(which: $which) {{ {NODE_SELECTION} }} }}
    {FRAGMENT}"""
    variables = {"which": ["good", case, "good"]}
    if case == "generator tags":  # a generator can be read once: one query per executor
        BAD_NODES[case].tags = (t for t in ["g"])
        fast = run(FastExecutionContext, query, variables)
        BAD_NODES[case].tags = (t for t in ["g"])
    else:
        fast = run(FastExecutionContext, query, variables)
    slow = run(StrawberryGraphQLCoreExecutionContext, query, variables)
    assert fast == slow


@pytest.mark.parametrize("flag", [True, False])
def test_skip_and_include_with_variables(flag):
    query = """query($flag: Boolean!) {
      nodes(which: ["good", "null in children"]) {
        title @include(if: $flag)
        tags @skip(if: $flag)
        children @include(if: $flag) { name count @skip(if: $flag) }
      }
    }"""
    fast = run(FastExecutionContext, query, {"flag": flag})
    slow = run(StrawberryGraphQLCoreExecutionContext, query, {"flag": flag})
    assert fast == slow


# -- the directory's schema ----------------------------------------------------------------

NEAR = f"{{lat: {HOERDE_44263[0]}, lon: {HOERDE_44263[1]}}}"
DIRECTORY_QUERIES = [
    f"""{{ offers(near: {NEAR}, radiusKm: 50, first: 100) {{
        totalCount center {{ label precision }}
        pageInfo {{ hasNextPage endCursor }}
        facets {{ kinds {{ value label count }} districts {{ value count }} }}
        edges {{ cursor distanceKm node {{
          __typename id kind title description status createdAt updatedAt verifiedAt
          carrier {{ key name }} district {{ key name lat lon }}
          categories {{ key label parent {{ key children {{ key }} }} }}
          address {{ street postcode city }} location {{ lat lon precision }}
          contact {{ phone email website }} channels languages targetGroups externalId
          schedule {{ rules {{ weekday start end frequency weeksOfMonth }} description note }}
          accessibility {{ wheelchair hearingLoop easyLanguage note }}
          cost {{ freeOfCharge note }}
        }} }}
      }} }}""",
    """{ offers(sort: TITLE, first: 50) { edges { node { id t: title ...N } } } }
       fragment N on Offer { carrier { ... on Carrier { name } } district { __typename } }""",
    "{ categories { key children { key children { key } } parent { label } } }",
    "{ districts { key name lat lon pointNote } carriers { key name website } }",
]


@pytest.mark.parametrize("query", DIRECTORY_QUERIES)
def test_directory_queries_through_both_executors(known_directory: Directory, query):
    limits = known_directory.instance.limits
    results = []
    for context_class in (FastExecutionContext, StrawberryGraphQLCoreExecutionContext):
        schema = build_schema(limits, execution_context_class=context_class)
        result = schema.execute_sync(query, context_value=Context(known_directory))
        assert not result.errors, result.errors
        results.append(result.data)
    assert results[0] == results[1]
    assert results[0]


def test_offer_ids_of_the_known_set_are_found(known_directory: Directory):
    schema = build_schema(known_directory.instance.limits)
    ids = [offer.id for offer in build_known_offers().values()]
    query = "query($id: ID!) { offer(id: $id) { id title } }"
    for offer_id in ids:
        result = schema.execute_sync(
            query, variable_values={"id": offer_id}, context_value=Context(known_directory)
        )
        assert result.data == {"offer": {"id": offer_id, "title": result.data["offer"]["title"]}}


def test_plain_fields_skip_graphql_cores_field_machinery():
    class Counting(FastExecutionContext):
        calls: list[str] = []

        def execute_field(self, parent_type, source, field_details_list, path, position):
            Counting.calls.append(field_details_list[0].node.name.value)
            return super().execute_field(parent_type, source, field_details_list, path, position)

    query = '{ nodes(which: ["good", "good"]) { title tags child { name } children { count } } }'
    fast = run(Counting, query)
    assert fast == run(StrawberryGraphQLCoreExecutionContext, query)
    assert Counting.calls == ["nodes"]  # only the resolver field went through graphql-core
    Counting.calls.clear()
    run(Counting, '{ nodes(which: ["good"]) { shout child { name } } }')
    assert Counting.calls == ["nodes", "shout"]
    Counting.calls.clear()
    query = '{ nodes(which: ["good"]) { pureShout pureTags pureWithInfo pureWithArgument } }'
    assert run(Counting, query) == run(StrawberryGraphQLCoreExecutionContext, query)
    # a pure resolver is read like an attribute; one that takes info or arguments is not
    assert Counting.calls == ["nodes", "pureWithInfo", "pureWithArgument"]


def test_a_repeated_query_with_skip_and_include_follows_its_variables():
    schema = strawberry.Schema(query=Query, execution_context_class=FastExecutionContext)
    query = """query($flag: Boolean!) {
      nodes(which: ["good"]) { child { name @include(if: $flag) count @skip(if: $flag) } }
    }"""
    for flag in (True, False, True):
        result = schema.execute_sync(query, variable_values={"flag": flag})
        expected = {"name": "l"} if flag else {"count": 3}
        assert result.data == {"nodes": [{"child": expected}]}


def test_a_repeated_query_gives_the_same_answer():
    schema = strawberry.Schema(query=Query, execution_context_class=FastExecutionContext)
    query = '{ nodes(which: ["good", "nan score"]) { child { name score } mustChild { name } } }'
    first = schema.execute_sync(query)
    second = schema.execute_sync(query)
    assert first.data == second.data
    assert [e.path for e in first.errors] == [e.path for e in second.errors]


def test_the_counsellors_search_resolves_only_offers_through_graphql_core(
    known_directory: Directory,
):
    """The whole page of a nearby search (schedule descriptions included) is read by the
    plain path: only the ``offers`` resolver goes through graphql-core's machinery."""
    calls: list[str] = []

    class Counting(FastExecutionContext):
        def execute_field(self, parent_type, source, field_details_list, path, position):
            calls.append(field_details_list[0].node.name.value)
            return super().execute_field(parent_type, source, field_details_list, path, position)

    schema = build_schema(known_directory.instance.limits, execution_context_class=Counting)
    query = f"""{{ offers(near: {NEAR}, radiusKm: 50, first: 20) {{ edges {{ distanceKm node {{
        id title kind description carrier {{ name }} district {{ name }}
        address {{ street postcode city }} contact {{ phone email }} languages
        accessibility {{ wheelchair }} cost {{ freeOfCharge }} schedule {{ description }}
    }} }} }} }}"""
    result = schema.execute_sync(query, context_value=Context(known_directory))
    assert not result.errors, result.errors
    assert any(e["node"]["schedule"]["description"] for e in result.data["offers"]["edges"])
    assert calls == ["offers"]


def test_a_finished_request_leaves_nothing_to_the_garbage_collector(known_directory: Directory):
    """graphql-core's executor refers to itself through its ``async_helpers``; the fast
    context lets go of them once a synchronous execution is done, so refcounting frees a
    request's objects and the server's young collections stay rare. (An answer with a
    resolver's error still leaves its exception's traceback, which refers to its frames.)"""
    schema = build_schema(known_directory.instance.limits)
    context = Context(known_directory)
    queries = [*DIRECTORY_QUERIES, "query($n: Int = 3) { offers(first: $n) { totalCount } }"]
    for query in queries:  # warm: parsed documents and serializers are cached
        schema.execute_sync(query, context_value=context)
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for query in queries * 3:
            schema.execute_sync(query, context_value=context)
        left = gc.collect()
    finally:
        if was_enabled:
            gc.enable()
    assert left == 0


def test_serializers_kept_across_requests_are_code_without_names_of_the_query(inline_depth):
    written: list[str] = []
    real = serializer_code.compile_serializer

    def spy(steps, record_source=None):
        serializer = real(steps, record_source)
        written.append(serializer.code)
        if serializer.record_serializer:
            written.append(serializer.record_serializer.code)
        return serializer

    query = """{ nodes(which: ["good"]) { fieldNamedLikeCode: title
        child { raiseSlow: name score colours } children { import: count } } }"""
    execution_spy = pytest.MonkeyPatch()
    execution_spy.setattr(shared_serializers, "compile_serializer", spy)
    try:
        fast = run(FastExecutionContext, query)
    finally:
        execution_spy.undo()
    assert fast == run(StrawberryGraphQLCoreExecutionContext, query)
    assert not fast[1], fast
    assert written  # the selections were written as code
    for code in written:
        for name in ("fieldNamedLikeCode", "raiseSlow", "import"):  # the query's aliases
            assert name not in code


def test_a_selection_is_written_as_code_when_it_comes_again(known_directory, monkeypatch):
    """A query text seen once is served by the plain loop (no compilation for texts
    with literal values); the second request of the same (cached) document gets code."""
    monkeypatch.setattr(shared_serializers, "_shared", {})
    schema = build_schema(known_directory.instance.limits)
    query = "{ offers(first: 5) { edges { node { title address { city } } } } }"

    def kept() -> list:
        return [entry[1] for entry in shared_serializers._shared.values() if callable(entry[1])]

    first = schema.execute_sync(query, context_value=Context(known_directory))
    assert kept() and not any(hasattr(s, "code") for s in kept())
    second = schema.execute_sync(query, context_value=Context(known_directory))
    assert any(hasattr(s, "code") for s in kept())  # (selections inside it: not asked again)
    assert first.data == second.data and not first.errors and first.data["offers"]["edges"]


# -- offers still as records (types.RecordNode) ----------------------------------------------

COUNSELLOR_PAGE = f"""{{ offers(near: {NEAR}, radiusKm: 50, first: 20) {{ edges {{ distanceKm
    node {{ id title kind description carrier {{ name }} district {{ name }}
      address {{ street postcode city }} contact {{ phone email }} languages
      accessibility {{ wheelchair }} cost {{ freeOfCharge }} schedule {{ description }} }}
}} }} }}"""
WHOLE_OFFER = """{ __typename id kind title description status createdAt updatedAt verifiedAt
    districtManual version externalId channels languages targetGroups
    carrier { key name website } district { key name lat lon }
    address { __typename street postcode city } location { lat lon precision }
    contact { phone email website } accessibility { wheelchair hearingLoop easyLanguage note }
    cost { freeOfCharge note }
    schedule { rules { weekday start end frequency interval weeksOfMonth } validFrom note
               description } }"""
RECORD_QUERIES = [
    COUNSELLOR_PAGE,
    f"{{ offers(near: {NEAR}, radiusKm: 50, first: 100) {{ edges {{ node {WHOLE_OFFER} }} }} }}",
    # with fields the record does not hold: resolvers, and categories with arguments
    f"""{{ offers(near: {NEAR}, radiusKm: 50, first: 100) {{ edges {{ node {{ id
        kindLabel(lang: "tr") title categories {{ key label }} address {{ city }} }} }} }} }}""",
    "{ offers(sort: TITLE, first: 50) { edges { node { id t: title ...N } } } }"
    " fragment N on Offer { carrier { ... on Carrier { name } } district { __typename } }",
]


def _cached_context(directory: Directory) -> Context:
    return Context(directory, offers=OfferCache(directory))


@pytest.mark.parametrize("query", RECORD_QUERIES)
def test_offers_from_records_answer_as_offers_built_first(
    known_directory: Directory, query, inline_depth
):
    """Nodes that are still records (the cache's) give what graphql-core gives for the
    same nodes and what nodes built from model offers give, on first and later requests
    (serializers written as code at once, at every inlining depth)."""
    limits = known_directory.instance.limits
    built = build_schema(limits).execute_sync(query, context_value=Context(known_directory))
    assert not built.errors and built.data["offers"]["edges"]
    for context_class in (FastExecutionContext, StrawberryGraphQLCoreExecutionContext):
        schema = build_schema(limits, execution_context_class=context_class)
        context = _cached_context(known_directory)
        for _ in range(2):
            result = schema.execute_sync(query, context_value=context)
            assert not result.errors, result.errors
            assert result.data == built.data


def _count_turned(monkeypatch) -> list[str]:
    """The ids of the record nodes turned into full offer nodes from now on."""
    turned: list[str] = []
    become = types.RecordNode._become_offer

    def counting(node):
        turned.append(node._record[0])
        become(node)

    monkeypatch.setattr(types.RecordNode, "_become_offer", counting)
    return turned


def _count_record_functions(monkeypatch) -> list[int]:
    """Calls of record functions (``serializer_code``) written from now on."""
    calls: list[int] = []
    compile_record = serializer_code._compile_record_serializer

    def compiling(steps, source):
        function = compile_record(steps, source)
        if function is None:
            return None

        def counted(node):
            calls.append(1)
            return function(node)

        counted.record_source = function.record_source
        counted.code = function.code
        return counted

    monkeypatch.setattr(serializer_code, "_compile_record_serializer", compiling)
    return calls


def test_the_counsellors_page_is_read_from_the_records(known_directory, monkeypatch):
    """With the page's serializer written as code, no node of the page is turned into a
    full offer node; a field with a resolver turns them (and answers the same)."""
    monkeypatch.setattr(shared_serializers, "_shared", {})
    turned = _count_turned(monkeypatch)
    schema = build_schema(known_directory.instance.limits)
    context = _cached_context(known_directory)
    first = schema.execute_sync(COUNSELLOR_PAGE, context_value=context)
    turned.clear()
    second = schema.execute_sync(COUNSELLOR_PAGE, context_value=context)
    assert not second.errors and second.data == first.data
    assert len(second.data["offers"]["edges"]) > 3
    assert turned == []
    with_label = COUNSELLOR_PAGE.replace("id title", "id kindLabel title")
    for _ in range(2):
        labelled = schema.execute_sync(with_label, context_value=context)
    assert len(turned) == 2 * len(labelled.data["offers"]["edges"])
    edges = zip(first.data["offers"]["edges"], labelled.data["offers"]["edges"], strict=True)
    for plain, label in edges:
        assert {k: v for k, v in label["node"].items() if k != "kindLabel"} == plain["node"]


def test_a_record_node_turns_into_an_offer_node_when_asked_for_more(known_directory):
    cafe = build_known_offers()["cafe"]
    offer_id = cafe.id
    cache = OfferCache(known_directory)
    record = cache.get_records([offer_id])[offer_id]
    node = types.record_node(record, known_directory)
    assert not hasattr(node, "__await__")  # (strawberry asks every value) still a record
    assert type(node) is types.RecordNode
    copied = copy.copy(node)
    assert node.title == cafe.title and node.carrier.name
    assert type(node) is types.Offer and isinstance(node, types.Offer)
    built = types.offer_node(known_directory.get_many([offer_id])[offer_id], known_directory)
    assert node.__dict__ == built.__dict__
    assert copied.title == node.title  # a copy made before turns on its own


REFUSED_PAGE = "{ offers(sort: TITLE, first: 50) { edges { node " + WHOLE_OFFER + " } } }"


@pytest.mark.parametrize(
    "column, value",
    [
        ("title", None),
        ("kind", "no_such_kind"),
        ("languages", '"de"'),
        ("channels", '["teleport"]'),
        ("street", None),
        ("version", 2**40),
    ],
)
def test_a_record_with_a_value_its_type_refuses_gets_graphql_cores_answer(
    known_directory: Directory, column, value, inline_depth, monkeypatch
):
    """A record value the API's type does not allow (null for a non-null field, an
    unknown enum value, a list that is not one, an Int too large) is handed from the
    record function to graphql-core: the same data and errors, at the same paths, as
    graphql-core gives for that node, on first and later requests."""
    calls = _count_record_functions(monkeypatch)
    offer_id = build_known_offers()["cafe"].id
    answers = []
    for context_class in (FastExecutionContext, StrawberryGraphQLCoreExecutionContext):
        limits = known_directory.instance.limits
        schema = build_schema(limits, execution_context_class=context_class)
        context = _cached_context(known_directory)
        _change_cached(context.offers, offer_id, column, value)
        for _ in range(2):
            result = schema.execute_sync(REFUSED_PAGE, context_value=context)
            answers.append((result.data, _errors(result)))
    assert answers[0] == answers[1] == answers[2] == answers[3]
    assert calls  # the record functions read the page
    assert answers[0][1]  # an error for the value refused


def _change_cached(cache: OfferCache, offer_id: str, column: str, value: Any) -> None:
    record = list(cache.get_records([offer_id])[offer_id])
    record[OFFER_COLUMNS.index(column)] = value
    cache._offers[offer_id] = tuple(record)


def _errors(result: Any) -> list[tuple]:
    return sorted((e.message, tuple(e.path or ())) for e in result.errors or ())


def test_a_record_that_cannot_be_read_fails_only_its_own_offer(
    known_directory: Directory, monkeypatch, inline_depth
):
    """A stored value that cannot be converted (JSON that is not; never written by the
    project's write paths) fails that offer at its first selected field, as graphql-core
    does, and the record functions still answer every other offer."""
    offer_id = build_known_offers()["cafe"].id
    page = "{ offers(sort: TITLE, first: 50) { edges { node { id title languages } } } }"
    answers = []
    for context_class in (FastExecutionContext, StrawberryGraphQLCoreExecutionContext):
        limits = known_directory.instance.limits
        schema = build_schema(limits, execution_context_class=context_class)
        context = _cached_context(known_directory)
        _change_cached(context.offers, offer_id, "languages", "[de")
        for _ in range(2):
            result = schema.execute_sync(page, context_value=context)
            answers.append((result.data, _errors(result)))
    assert answers[0] == answers[1] == answers[2] == answers[3]
    assert answers[0][1] and answers[0][1][0][1][-1] == "id"  # the offer's first field
    schema = build_schema(known_directory.instance.limits)
    context = _cached_context(known_directory)
    _change_cached(context.offers, offer_id, "languages", "[de")
    clean = "{ offers(sort: TITLE, first: 50) { edges { node { id title } } } }"
    for _ in range(2):
        result = schema.execute_sync(clean, context_value=context)
        assert not result.errors  # the column is not asked for: the record is never read
    assert offer_id in {e["node"]["id"] for e in result.data["offers"]["edges"]}


def test_record_functions_hold_no_names_of_the_query(known_directory, monkeypatch):
    written: list[str] = []
    real = serializer_code._compile_record_serializer

    def spy(steps, source):
        function = real(steps, source)
        if function is not None:
            written.append(function.code)
        return function

    monkeypatch.setattr(shared_serializers, "_shared", {})
    monkeypatch.setattr(serializer_code, "_compile_record_serializer", spy)
    query = """{ offers(sort: TITLE, first: 5) { edges { node { fieldNamedLikeCode: title
        import: address { raiseSlow: street } r: kind } } } }"""
    schema = build_schema(known_directory.instance.limits)
    context = _cached_context(known_directory)
    answers = [schema.execute_sync(query, context_value=context) for _ in range(2)]
    assert answers[0].data == answers[1].data and not answers[1].errors
    assert written
    for code in written:
        for name in ("fieldNamedLikeCode", "raiseSlow", "import", "r:"):
            assert name not in code
