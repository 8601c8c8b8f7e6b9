"""Input objects planned once (``directory_schema.input_conversion``) come out exactly as
strawberry's own ``convert_argument`` builds them, and bad arguments get the same errors."""

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import strawberry
from directory_schema.app import build_schema
from directory_schema.context import Context
from directory_schema.extra import ExtraTypes
from directory_schema.input_conversion import fast_input
from directory_schema.inputs import GeoInput, OfferFilter
from strawberry.types.base import get_object_definition

from directory_core.directory import Directory, open_directory

from .conftest import dortmund_instance_at
from .test_graphql_errors import OFFERS, OFFERS_CASES
from .test_graphql_extra import example_plugins

# -- a schema with every kind of input field, built twice: planned and strawberry's ------


def make_schema(planned: bool) -> strawberry.Schema:
    """A fresh set of input classes (planned or not) and a query echoing their values."""

    @strawberry.enum
    class Mood(enum.Enum):
        CALM = "calm"
        LOUD = "loud"

    @strawberry.input
    class Inner:
        label: str
        weight: float | None = None

    @strawberry.input
    class Outer:
        text: str
        maybe_text: str | None = None
        count: int = 3
        mood: Mood | None = None
        moods: list[Mood] | None = None
        tags: list[str] | None = strawberry.field(default=None, name="labels")
        holes: list[str | None] | None = None
        inner: Inner | None = None
        inners: list[Inner] | None = None
        node_id: strawberry.relay.GlobalID | None = None
        flag: bool = False
        no_default: int | None
        factory: list[int] = strawberry.field(default_factory=lambda: [7])

    if planned:
        fast_input(Inner)
        fast_input(Outer)

    @strawberry.type
    class Query:
        @strawberry.field
        def echo(self, value: Outer | None = None, values: list[Outer] | None = None) -> str:
            return repr((value, values))

        @strawberry.field
        def defaulted(self, value: Outer = Outer(text="d", tags=["x"], no_default=None)) -> str:  # noqa: B008
            if value.tags is not None:  # a changed default must not leak into the next request
                value.tags.append("changed")
            return repr(value)

    return strawberry.Schema(query=Query)


FULL = {
    "text": "t",
    "maybeText": None,
    "count": 5,
    "mood": "LOUD",
    "moods": ["CALM", "LOUD"],
    "labels": ["a", "b"],
    "holes": ["a", None],
    "inner": {"label": "i", "weight": 1.5},
    "inners": [{"label": "j"}, {"label": "k", "weight": None}],
    "nodeId": "VGhpbmc6MQ==",  # Thing:1
    "flag": True,
    "noDefault": None,
    "factory": [1, 2],
}
ECHO = "query($v: Outer, $vs: [Outer!]) { echo(value: $v, values: $vs) }"
ECHO_CASES = [
    {"v": {"text": "only"}},
    {"v": FULL},
    {"v": None},
    {},
    {"vs": [FULL, {"text": "second", "inner": None, "inners": []}]},
    {"v": {"text": "x", "nodeId": "not base64 at all"}},  # strawberry's GlobalID error
    {"v": {"text": "x", "mood": "ANGRY"}},  # graphql-core's errors
    {"v": {"labels": ["no text"]}},
    {"v": {"text": 1}},
]
LITERALS = [
    '{ echo(value: {text: "lit", labels: "one", inners: {label: "single"}, mood: CALM}) }',
    '{ echo(values: [{text: "a"}, {text: "b", factory: 9}]) }',
    "{ defaulted }",
    "{ defaulted }",  # the same answer again: the default list was copied
    '{ defaulted(value: {text: "given"}) }',
]


def answer(schema: strawberry.Schema, query: str, variables: dict | None = None) -> tuple:
    result = schema.execute_sync(query, variable_values=variables)
    errors = [(e.message, e.path) for e in result.errors or ()]
    return result.data, errors


@pytest.mark.parametrize("variables", ECHO_CASES)
def test_variables_become_the_same_objects(variables):
    planned, own = make_schema(True), make_schema(False)
    assert answer(planned, ECHO, variables) == answer(own, ECHO, variables)


def test_literals_and_defaults_become_the_same_objects():
    planned, own = make_schema(True), make_schema(False)
    for query in LITERALS:
        got = answer(planned, query)
        assert got == answer(own, query)
        assert not got[1], got


def test_the_plan_is_used():
    schema = make_schema(True)
    data, errors = answer(schema, ECHO, {"v": FULL})
    assert not errors
    assert "labels" not in data["echo"] and "tags=['a', 'b']" in data["echo"]
    outer = schema.get_type_by_name("Outer")
    assert get_object_definition(outer.origin, strict=True).from_input is not None


def test_what_cannot_be_planned_is_refused():
    @strawberry.type
    class Output:
        name: str

    @strawberry.input
    class WithMaybe:
        value: strawberry.Maybe[str]

    with pytest.raises(TypeError, match="not an input type"):
        fast_input(Output)
    with pytest.raises(TypeError, match="Maybe fields"):
        fast_input(WithMaybe)
    with pytest.raises(TypeError, match="builds its own value already"):
        fast_input(GeoInput)


# -- the directory's offers arguments ----------------------------------------------------


@contextmanager
def strawberrys_own_conversion(*classes: type) -> Iterator[None]:
    definitions = [get_object_definition(cls, strict=True) for cls in classes]
    hooks = [definition.from_input for definition in definitions]
    assert all(hooks)
    for definition in definitions:
        definition.from_input = None
    try:
        yield
    finally:
        for definition, hook in zip(definitions, hooks, strict=True):
            definition.from_input = hook


def offers_answer(directory: Directory, schema: strawberry.Schema, arguments: dict) -> Any:
    result = schema.execute_sync(
        OFFERS, variable_values=arguments, context_value=Context(directory)
    )
    errors = [(e.message, e.path, e.extensions) for e in result.errors or ()]
    return result.data, errors


GOOD_ARGUMENTS = [
    {"near": {"lat": 51.49, "lon": 7.51}, "radius": 5, "filter": {"categories": ["beratung"]}},
    {"near": {"district": "hoerde"}, "filter": {"kinds": ["SERVICE"], "openOn": "MONDAY"}},
    {"filter": {"languages": ["tr"], "freeOfCharge": True, "includeArchived": False}},
    {"filter": {"accessibility": ["WHEELCHAIR"], "channels": ["IN_PERSON"]}, "first": 3},
    {"filter": None, "near": None},
]


@pytest.mark.parametrize(
    "arguments",
    [*GOOD_ARGUMENTS, *(case[0] for _, case in sorted(OFFERS_CASES.items()))],
)
def test_offers_arguments_give_the_same_answers_and_errors(known_directory, arguments):
    schema = build_schema(known_directory.instance.limits)
    planned = offers_answer(known_directory, schema, arguments)
    with strawberrys_own_conversion(GeoInput, OfferFilter):
        own = offers_answer(known_directory, schema, arguments)
    assert planned == own


EXTRA_QUERY = """query($extra: OfferExtraFilter) {
  offers(near: {lat: 51.4847, lon: 7.4996}, radiusKm: 10, filter: {extra: $extra}) {
    totalCount edges { node { title } } } }"""
EXTRA_CASES = [
    None,
    {"awo": {"transportService": True, "mealsOnWheelsZone": ["SUED", "OST"]}},
    {"awo": {"mealsOnWheelsZone": ["ATLANTIS"]}},
    {"awo": {"mealsOnWheelsZone": []}},
]


@pytest.fixture
def plugin_directory(tmp_path) -> Iterator[Directory]:
    directory = open_directory(
        dortmund_instance_at(tmp_path / "d.sqlite"), extra_plugins=example_plugins()
    )
    yield directory
    directory.close()


def test_the_filter_with_custom_fields_is_planned_too(plugin_directory):
    extra = ExtraTypes(plugin_directory.custom_fields)
    schema = build_schema(plugin_directory.instance.limits, extra)
    offer_filter = schema.get_type_by_name("OfferFilter")
    assert offer_filter is not OfferFilter and issubclass(offer_filter.origin, OfferFilter)
    context = Context(plugin_directory, extra=extra)
    for case in EXTRA_CASES:
        variables = {"extra": case}
        planned = schema.execute_sync(EXTRA_QUERY, variable_values=variables, context_value=context)
        with strawberrys_own_conversion(offer_filter.origin, GeoInput):
            own = schema.execute_sync(EXTRA_QUERY, variable_values=variables, context_value=context)
        assert planned.data == own.data
        assert [e.formatted for e in planned.errors or ()] == [
            e.formatted for e in own.errors or ()
        ]
