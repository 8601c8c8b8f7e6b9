"""The query budget (``directory_schema.budget``) and the limits extension around it
(``directory_schema.limits``): figures of small documents worked out by hand, linear
time on documents that expand exponentially, the byte-bounded document cache."""

from __future__ import annotations

import time

import pytest
from directory_schema.app import build_schema
from directory_schema.budget import LIST_SIZE_ESTIMATE, Measure, measure
from directory_schema.context import Context
from directory_schema.limits import DocumentCache, check_limits
from graphql import parse

from directory_core.instance import Limits

SCHEMA = build_schema(Limits())._schema


def figures(query: str, variables: dict | None = None) -> Measure:
    return measure(SCHEMA, parse(query), None, variables, default_first=20)


def bomb(levels: int, on: str = "Category", leaf: str = "key") -> str:
    """Fragments each spreading the next four times (issue 8, finding 1)."""
    fragments = " ".join(
        f"fragment F{i} on {on} {{ {f'...F{i + 1} ' * 4 if i < levels else leaf} }}"
        for i in range(1, levels + 1)
    )
    root = "categories { ...F1 }" if on == "Category" else "...F1"
    return f"{{ {root} }} {fragments}"


def test_a_connection_counts_its_edges_by_first():
    # node: 1 + (id, title); edges: 50 items of (1 + node); offers: 1 + edges
    found = figures("{ offers(first: 50) { edges { node { id title } } } }")
    assert found == Measure(depth=4, aliases=0, cost=1 + 50 * (1 + 1 + 2))


def test_first_from_a_variable_and_the_default_page_size():
    query = "query($n: Int) { offers(first: $n) { edges { cursor } } }"
    assert figures(query, {"n": 7}).cost == 1 + 7 * 2
    assert figures(query, {}).cost == 1 + 20 * 2  # no value: the default page size


def test_lists_without_first_count_as_the_estimate():
    found = figures("{ categories { key children { key } } }")
    assert found.cost == LIST_SIZE_ESTIMATE * (1 + 1 + LIST_SIZE_ESTIMATE * 2)
    assert found.depth == 3


def test_aliases_are_counted_once_per_place_and_per_fragment_spread():
    assert figures("{ a: districts { k: key } b: carriers { key } }").aliases == 3
    spread_twice = "{ districts { ...D ...D } } fragment D on District { k: key }"
    assert figures(spread_twice).aliases == 2


def test_a_fragment_bomb_is_measured_in_linear_time():
    started = time.perf_counter()
    found = figures(bomb(40))  # 4**39 paths
    assert time.perf_counter() - started < 0.5
    assert found.cost > 4**39
    assert found.depth == 2


def test_introspection_does_not_count_towards_depth():
    from graphql import get_introspection_query

    found = figures(get_introspection_query(descriptions=True))
    assert found.depth <= 1
    assert found.cost < Limits().max_query_cost


def test_unknown_fragments_and_cycles_are_left_to_validation():
    assert figures("{ categories { ...Missing } }").cost == LIST_SIZE_ESTIMATE
    cycle = (
        "{ categories { ...A } } fragment A on Category { ...B } fragment B on Category { ...A }"
    )
    assert figures(cycle).cost == LIST_SIZE_ESTIMATE


@pytest.mark.parametrize(
    ("query", "limit"),
    [
        (bomb(12), "max_query_cost"),
        ("{ categories { " + "children { " * 13 + "key" + " }" * 15, "max_query_depth"),
        ("{ " + " ".join(f"a{i}: districts {{ key }}" for i in range(21)) + " }", "max_aliases"),
        (
            "{ ...F1 } "
            + " ".join(f"fragment F{i} on Query {{ ...F{i + 1} }}" for i in range(1, 100))
            + " fragment F100 on Query { __typename }",
            "max_query_depth",
        ),
    ],
    ids=["fragment bomb", "depth", "aliases", "fragment chain"],
)
def test_check_limits_names_the_limit(query, limit):
    from directory_schema.limits import LimitError

    with pytest.raises(LimitError) as caught:
        check_limits(SCHEMA, parse(query), None, None, Limits())
    assert caught.value.limit == limit
    assert f"limits.{limit}" in caught.value.message


def test_the_document_cache_is_bounded_by_bytes():
    cache = DocumentCache(max_bytes=10_000, max_entries=100)
    for i in range(50):
        cache.put((f"{{ districts {{ key }} }} #{i:04d}" + "x" * 1000, 4000), [None, None])
    assert cache.bytes <= 10_000
    assert len(cache) < 10
    cache.put(("y" * 5000, 4000), [None, None])  # over an eighth of the budget: not kept
    assert cache.get(("y" * 5000, 4000)) is None


def test_the_shared_serializers_are_bounded_by_bytes(known_directory):
    from directory_schema import shared_serializers as execution

    schema = build_schema(known_directory.instance.limits)
    padding = "#" + "x" * 50_000
    for i in range(120):  # 6 MB of query text in total
        result = schema.execute_sync(
            f"{{ offers(first: 2) {{ edges {{ node {{ title }} }} }} }} {padding}{i}",
            context_value=Context(known_directory),
        )
        assert not result.errors
    assert 0 < execution._shared_bytes <= execution._SHARED_MAX_BYTES


def test_figures_are_remembered_per_document_by_the_first_values_that_change_them():
    from directory_schema.budget import measure_memoized

    query = parse(
        "query($n: Int, $m: Int, $text: String) { a: offers(first: $n, text: $text) "
        "{ edges { cursor } } b: offers(first: $m) { edges { cursor } } }"
    )
    memo: dict = {}

    def remembered(variables, schema=SCHEMA, default_first=20):
        return measure_memoized(schema, query, memo, None, variables, default_first)

    for variables in (
        {"n": 7, "m": 3},
        {"n": 7, "m": 3, "text": "Tanz"},  # a variable that is no `first`: same figures
        {"n": 8, "m": 3},
        {"n": 7, "m": 30},
        {"n": "7", "m": -1},  # not counted as given: the default page size
        {},
        {"n": 7, "m": 3},
    ):
        expected = measure(SCHEMA, query, None, variables, default_first=20)
        assert remembered(variables) == expected
    # the names read, one entry per counted (n, m): (7, 3), (8, 3), (7, 30), values
    # counted as the default page size, and not sent at all
    assert len(memo) == 1 + 5
    # another default page size or schema is measured afresh, not taken from the memo
    assert remembered({}, default_first=5).cost == 2 * (1 + 5 * 2)
    other = build_schema(Limits())._schema
    assert remembered({"n": 7, "m": 3}, schema=other) == remembered({"n": 7, "m": 3})


def test_a_document_without_first_variables_is_measured_once(monkeypatch):
    from directory_schema import budget

    calls = []
    real = budget.measure
    monkeypatch.setattr(budget, "measure", lambda *a, **k: calls.append(1) or real(*a, **k))
    memo: dict = {}
    query = parse("{ offers(first: 5) { edges { cursor } } }")
    for _ in range(3):
        found = budget.measure_memoized(SCHEMA, query, memo, None, None, 20)
        assert found == real(SCHEMA, query, None, None, default_first=20)
    assert len(calls) == 1


def test_first_counts_integral_floats_and_the_defaults_of_variable_definitions():
    query = "query($n: Int = 100) { offers(first: $n) { edges { cursor } } }"
    assert figures(query).cost == 1 + 100 * 2  # not sent: the definition's default
    assert figures(query, {"n": None}).cost == 1 + 20 * 2  # null: the default page size
    assert figures(query, {"n": 100.0}).cost == 1 + 100 * 2  # graphql-core takes 100.0
    assert figures(query, {"n": 2.5}).cost == 1 + 20 * 2  # refused later; counted as default


def test_remembered_figures_tell_a_missing_variable_from_a_null_one():
    from directory_schema.budget import measure_memoized

    query = parse("query($n: Int = 100) { offers(first: $n) { edges { cursor } } }")
    memo: dict = {}
    assert measure_memoized(SCHEMA, query, memo, None, {"n": None}, 20).cost == 1 + 20 * 2
    assert measure_memoized(SCHEMA, query, memo, None, {}, 20).cost == 1 + 100 * 2
    assert measure_memoized(SCHEMA, query, memo, None, {"n": None}, 20).cost == 1 + 20 * 2
