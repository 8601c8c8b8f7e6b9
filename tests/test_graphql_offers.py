"""The ``offers`` search and the other queries, over real HTTP against uvicorn."""

from __future__ import annotations

import base64
import re

import pytest
from directory_search.text import fold
from geopy.distance import geodesic, great_circle

from directory_core.model import KIND_LABELS

from .conftest import HOERDE_44263, ROOT, build_known_offers

KNOWN = build_known_offers()
ID = {key: offer.id for key, offer in KNOWN.items()}
KEY = {offer.id: key for key, offer in KNOWN.items()}
NEAR_HOERDE = {"lat": HOERDE_44263[0], "lon": HOERDE_44263[1]}

PAGE = """
query($near: GeoInput, $radius: Float, $text: String, $filter: OfferFilter, $sort: OfferSort,
      $first: Int, $after: String) {
  offers(near: $near, radiusKm: $radius, text: $text, filter: $filter, sort: $sort,
         first: $first, after: $after) {
    edges { cursor distanceKm node { id title } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def keys(data: dict) -> list[str]:
    """The known-offer keys of a connection's nodes, in order."""
    return [KEY[edge["node"]["id"]] for edge in data["offers"]["edges"]]


def search(graphql, **arguments) -> list[str]:
    return keys(graphql.data(PAGE, **arguments))


# -- the nearby search ---------------------------------------------------------------------


def test_nearby_search_by_point_radius_category_and_text(graphql):
    data = graphql.data(
        """
        query($near: GeoInput!) {
          offers(near: $near, radiusKm: 5, text: "demenz",
                 filter: {categories: ["dementia"]}) {
            totalCount
            center { lat lon precision label }
            edges { distanceKm node { id title location { lat lon } } }
            pageInfo { hasNextPage endCursor }
          }
        }
        """,
        near=NEAR_HOERDE,
    )
    offers = data["offers"]
    # archived, too far away, without location, not about dementia: left out
    assert keys(data) == ["cafe", "circle", "aplerbeck", "hombruch"]
    assert offers["totalCount"] == 4
    assert offers["pageInfo"]["hasNextPage"] is False
    assert offers["center"]["precision"] == "MANUAL"
    distances = []
    for edge in offers["edges"]:
        location = edge["node"]["location"]
        point = (location["lat"], location["lon"])
        expected = great_circle(HOERDE_44263, point).km
        assert edge["distanceKm"] == pytest.approx(expected, rel=0.005)
        assert edge["distanceKm"] == pytest.approx(geodesic(HOERDE_44263, point).km, rel=0.005)
        assert edge["distanceKm"] == round(edge["distanceKm"], 3)
        assert edge["distanceKm"] <= 5
        distances.append(edge["distanceKm"])
    assert distances == sorted(distances)


def test_default_radius_is_the_instance_maximum(graphql):
    nearby = search(graphql, near=NEAR_HOERDE, text="demenz")
    # Mengede is ~14 km away: inside the default 50 km, the far-away samples are not
    assert "mengede" in nearby
    assert search(graphql, near=NEAR_HOERDE, radius=5, text="demenz") == [
        "cafe",
        "circle",
        "aplerbeck",
        "hombruch",
    ]


def test_near_a_postcode_resolves_to_its_centroid(graphql):
    data = graphql.data(
        """{ offers(near: {postcode: "44263"}, radiusKm: 1.5, text: "demenz") {
               center { lat lon precision label } edges { distanceKm node { id } } } }"""
    )
    center = data["offers"]["center"]
    assert (center["lat"], center["lon"]) == HOERDE_44263
    assert center["precision"] == "POSTCODE"
    assert "44263" in center["label"]
    assert keys(data) == ["cafe", "circle"]


@pytest.mark.parametrize("district", ["hoerde", "Hörde", "Dortmund-Hörde", "HOERDE"])
def test_near_a_district_by_key_or_name(graphql, district):
    data = graphql.data(
        """query($d: String!) { offers(near: {district: $d}, radiusKm: 2) {
               center { lat lon precision label } edges { node { id } } } }""",
        d=district,
    )
    center = data["offers"]["center"]
    assert (center["lat"], center["lon"]) == (51.483333, 7.5)  # Hörde in dortmund.toml
    assert center["precision"] == "DISTRICT"
    assert set(keys(data)) == {"cafe", "circle", "treff"}


def test_near_an_address_is_geocoded(graphql):
    data = graphql.data(
        """{ offers(near: {address: "Hörder Bahnhofstraße 16, 44263 Dortmund"}, radiusKm: 1,
                    text: "Seniorentreff") {
               center { lat lon precision } edges { node { id } } } }"""
    )
    # offline gazetteer: the postcode centroid of the address
    assert data["offers"]["center"] == {
        "lat": HOERDE_44263[0],
        "lon": HOERDE_44263[1],
        "precision": "POSTCODE",
    }
    assert keys(data) == ["treff"]


# -- paging, counts, facets, order -------------------------------------------------------


def test_pages_follow_each_other_without_duplicates_or_gaps(graphql):
    everything = graphql.data(PAGE, sort="TITLE", first=100)["offers"]["edges"]
    all_ids = [edge["node"]["id"] for edge in everything]
    assert len(all_ids) == 48  # 8 active known offers + 40 samples
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = graphql.data(PAGE, sort="TITLE", first=7, after=after)["offers"]
        seen += [edge["node"]["id"] for edge in page["edges"]]
        pages += 1
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert pages == 7
    assert seen == all_ids
    assert len(set(seen)) == len(seen)


def test_an_empty_page_after_the_last_hit(graphql):
    page = graphql.data(PAGE, sort="TITLE", first=100)["offers"]
    after_last = graphql.data(PAGE, sort="TITLE", after=page["pageInfo"]["endCursor"])
    assert after_last["offers"] == {
        "edges": [],
        "pageInfo": {"hasNextPage": False, "endCursor": None},
    }
    zero = graphql.data(PAGE, sort="TITLE", first=0)["offers"]
    assert zero["edges"] == []
    assert zero["pageInfo"]["hasNextPage"] is True


def test_cursors_are_opaque_offsets_usable_from_any_edge(graphql):
    page = graphql.data(PAGE, near=NEAR_HOERDE, radius=5, first=3)["offers"]
    cursors = [edge["cursor"] for edge in page["edges"]]
    assert [base64.b64decode(c).decode() for c in cursors] == [
        "offset:0",
        "offset:1",
        "offset:2",
    ]
    rest = search(graphql, near=NEAR_HOERDE, radius=5, first=100, after=cursors[0])
    everything = search(graphql, near=NEAR_HOERDE, radius=5, first=100)
    assert rest == everything[1:]


def test_total_count_and_facets_over_the_whole_result(graphql):
    data = graphql.data(
        """query($near: GeoInput!) {
             offers(near: $near, radiusKm: 5, first: 1) {
               totalCount
               totalCountIsExact
               edges { node { id } }
               facets {
                 kinds { value label count }
                 categories { value label count }
                 districts { value label count }
               }
             } }""",
        near=NEAR_HOERDE,
    )
    offers = data["offers"]
    within_5_km = ["treff", "cafe", "circle", "office", "aplerbeck", "hombruch"]
    assert offers["totalCount"] == len(within_5_km)
    assert offers["totalCountIsExact"] is True  # far below the embedded bound (1,000)
    assert len(offers["edges"]) == 1
    kinds = {f["value"]: (f["label"], f["count"]) for f in offers["facets"]["kinds"]}
    assert kinds == {
        "dementia_group": (KIND_LABELS["dementia_group"], 2),
        "service": (KIND_LABELS["service"], 2),
        "meeting_place": (KIND_LABELS["meeting_place"], 1),
        "advice_office": (KIND_LABELS["advice_office"], 1),
    }
    counts = [f["count"] for f in offers["facets"]["kinds"]]
    assert counts == sorted(counts, reverse=True)
    categories = {f["value"]: f["count"] for f in offers["facets"]["categories"]}
    assert categories["dementia"] == 4  # parents count their subcategories' offers
    assert categories["dementia.advice"] == 3
    assert categories["encounter.meeting"] == 1
    labels = {f["value"]: f["label"] for f in offers["facets"]["categories"]}
    assert labels["dementia"] == "Demenz"
    districts = {f["value"]: f for f in offers["facets"]["districts"]}
    assert sum(f["count"] for f in districts.values()) == len(within_5_km)
    assert districts["hombruch"]["label"] == "Hombruch"


def test_sort_by_title(graphql):
    data = graphql.data(PAGE, near=NEAR_HOERDE, radius=5, sort="TITLE")
    titles = [edge["node"]["title"] for edge in data["offers"]["edges"]]
    assert titles == sorted(titles, key=fold)
    assert len(titles) == 6
    assert all(edge["distanceKm"] is not None for edge in data["offers"]["edges"])


def test_relevance_is_the_default_with_text_only(graphql):
    data = graphql.data(PAGE, text="Phoenix")
    assert keys(data) == ["cafe"]
    assert data["offers"]["edges"][0]["distanceKm"] is None


def test_title_order_without_near_and_text(graphql):
    data = graphql.data(PAGE, first=100)
    titles = [edge["node"]["title"] for edge in data["offers"]["edges"]]
    assert len(titles) == 48
    assert titles == sorted(titles, key=fold)


# -- filters ---------------------------------------------------------------------------------

NEAR_FILTER_CASES = [
    ({"kinds": ["SERVICE"]}, ["aplerbeck", "hombruch"]),
    ({"kinds": ["SERVICE", "MEETING_PLACE"]}, ["treff", "aplerbeck", "hombruch"]),
    ({"categories": ["dementia.groups"]}, ["cafe"]),
    ({"categories": ["relief"]}, ["circle"]),
    ({"districts": ["hombruch"]}, ["hombruch"]),
    ({"carriers": ["drk", "awo"]}, ["aplerbeck", "hombruch"]),
    ({"languages": ["tr"]}, ["cafe"]),
    ({"languages": ["ru", "pl"]}, ["aplerbeck", "hombruch"]),
    ({"channels": ["HOME_VISIT"]}, ["aplerbeck"]),
    ({"channels": ["PHONE"]}, ["office"]),
    ({"freeOfCharge": False}, ["aplerbeck"]),
    ({"accessibility": ["WHEELCHAIR"]}, ["treff", "cafe"]),
    ({"accessibility": ["WHEELCHAIR", "EASY_LANGUAGE"]}, ["treff"]),
    ({"accessibility": ["HEARING_LOOP"]}, ["circle"]),
    ({"openOn": "TUESDAY"}, ["cafe", "hombruch"]),
    ({"openOn": "TUESDAY", "openAt": "15:00"}, ["cafe"]),
    ({"openOn": "TUESDAY", "openAt": "16:00"}, []),  # the slot ends at 16:00
    ({"openOn": "THURSDAY", "openAt": "10:00"}, ["circle"]),
    ({"openOn": "SUNDAY"}, []),
    ({"includeArchived": True, "kinds": ["DEMENTIA_GROUP"]}, ["archived", "cafe", "circle"]),
    ({"kinds": ["DEMENTIA_GROUP"]}, ["cafe", "circle"]),
]


@pytest.mark.parametrize(("flt", "expected"), NEAR_FILTER_CASES)
def test_filters(graphql, flt, expected):
    assert search(graphql, near=NEAR_HOERDE, radius=5, filter=flt) == expected


def test_archived_offers_are_found_only_on_request(graphql):
    assert "archived" not in search(graphql, text="Ehemalige")
    assert search(graphql, text="Ehemalige", filter={"includeArchived": True}) == ["archived"]


def test_empty_text_means_no_text(graphql):
    assert search(graphql, near=NEAR_HOERDE, radius=5, text="   ") == search(
        graphql, near=NEAR_HOERDE, radius=5
    )


def test_selecting_only_the_count(graphql):
    data = graphql.data('{ offers(text: "demenz") { totalCount } }')
    # cafe, circle, aplerbeck, hombruch, mengede, phone and the far-away samples
    assert data["offers"]["totalCount"] >= 6


def test_count_and_facets_asked_for_through_fragments_are_computed(graphql):
    """What the connection computes follows its selection, fragments included."""
    data = graphql.data(
        """{ offers(text: "demenz", first: 1) { ...Counted ... on OfferConnection {
               facets { kinds { value count } } } edges { node { id } } } }
           fragment Counted on OfferConnection { totalCount }"""
    )
    direct = graphql.data('{ offers(text: "demenz") { totalCount facets { kinds { value } } } }')
    assert data["offers"]["totalCount"] == direct["offers"]["totalCount"] >= 6
    assert data["offers"]["facets"]["kinds"]
    assert len(data["offers"]["edges"]) == 1


# -- single offers and reference data -------------------------------------------------------

FULL_OFFER = """
query($id: ID!) {
  offer(id: $id) {
    id kind title description districtManual
    carrier { key name website }
    district { key name lat lon }
    categories { key label parentKey parent { key label } }
    address { street postcode city }
    location { lat lon precision }
    contact { phone email website }
    channels
    schedule {
      rules { weekday start end frequency interval weeksOfMonth }
      validFrom validUntil note description
    }
    languages
    accessibility { wheelchair hearingLoop easyLanguage note }
    cost { freeOfCharge note }
    targetGroups verifiedAt status externalId createdAt updatedAt
  }
}
"""


def test_offer_by_id_exposes_every_field(graphql):
    offer = graphql.data(FULL_OFFER, id=ID["cafe"])["offer"]
    known = KNOWN["cafe"]
    assert offer["id"] == known.id
    assert offer["kind"] == "DEMENTIA_GROUP"
    assert offer["title"] == known.title
    assert offer["description"] == known.description
    assert offer["districtManual"] is False
    assert offer["carrier"] == {"key": "caritas", "name": "Caritasverband", "website": ""}
    assert offer["district"]["key"] == "hoerde"
    assert offer["district"]["name"] == "Hörde"
    assert offer["categories"] == [
        {
            "key": "dementia.groups",
            "label": "Demenzgruppen und Demenzcafés",
            "parentKey": "dementia",
            "parent": {"key": "dementia", "label": "Demenz"},
        }
    ]
    assert offer["address"] == {"street": "Teststraße 1", "postcode": "44263", "city": "Dortmund"}
    assert offer["location"] == {
        "lat": known.location.lat,
        "lon": known.location.lon,
        "precision": "ADDRESS",
    }
    assert offer["contact"] == {
        "phone": "0231 123456",
        "email": "cafe@beispiel.invalid",
        "website": "",
    }
    assert offer["channels"] == ["IN_PERSON"]
    assert offer["schedule"] == {
        "rules": [
            {
                "weekday": "TUESDAY",
                "start": "14:00",
                "end": "16:00",
                "frequency": "WEEKLY",
                "interval": 1,
                "weeksOfMonth": [],
            }
        ],
        "validFrom": None,
        "validUntil": None,
        "note": "außer Ferien",
        "description": ["jeden Dienstag, 14:00–16:00 Uhr"],
    }
    assert offer["languages"] == ["de", "tr"]
    assert offer["accessibility"] == {
        "wheelchair": True,
        "hearingLoop": False,
        "easyLanguage": False,
        "note": "Eingang ebenerdig",
    }
    assert offer["cost"] == {"freeOfCharge": True, "note": ""}
    assert offer["targetGroups"] == ["Menschen mit Demenz", "Angehörige"]
    assert offer["verifiedAt"] == "2025-11-03T10:30:00+00:00"
    assert offer["status"] == "ACTIVE"
    assert offer["externalId"] == "known-cafe"
    assert offer["createdAt"] and offer["updatedAt"]


def test_monthly_schedules_are_described_in_german(graphql):
    offer = graphql.data(FULL_OFFER, id=ID["circle"])["offer"]
    assert offer["schedule"]["rules"][0]["frequency"] == "MONTHLY"
    assert offer["schedule"]["rules"][0]["weeksOfMonth"] == [1]
    assert offer["schedule"]["description"] == ["jeden 1. Donnerstag im Monat, 10:00–12:00 Uhr"]


def test_archived_offer_by_id_and_offer_without_location(graphql):
    archived = graphql.data(FULL_OFFER, id=ID["archived"])["offer"]
    assert archived["status"] == "ARCHIVED"
    phone = graphql.data(FULL_OFFER, id=ID["phone"])["offer"]
    assert phone["location"] is None
    assert phone["district"] is None
    assert phone["address"] == {"street": "", "postcode": "", "city": ""}


def test_unknown_offer_id_gives_null(graphql):
    result = graphql.post(FULL_OFFER, id="00000000-0000-4000-8000-999999999999")
    assert result == {"data": {"offer": None}}


def test_categories_with_children_and_parents(graphql):
    data = graphql.data(
        "{ categories { key label parentKey parent { key } children { key label } } }"
    )
    by_key = {c["key"]: c for c in data["categories"]}
    assert len(by_key) >= 30  # the default taxonomy, perhaps extended by plugins
    dementia = by_key["dementia"]
    assert dementia["label"] == "Demenz"
    assert dementia["parent"] is None
    assert {c["key"] for c in dementia["children"]} == {"dementia.groups", "dementia.advice"}
    assert by_key["dementia.groups"]["parent"] == {"key": "dementia"}
    assert by_key["dementia.groups"]["children"] == []
    top = graphql.data("{ categories(topLevel: true) { key } }")["categories"]
    assert {c["key"] for c in top} == {k for k, c in by_key.items() if c["parentKey"] is None}


def test_districts_and_carriers(graphql):
    data = graphql.data(
        "{ districts { key name lat lon pointNote } carriers { key name website } }"
    )
    districts = {d["key"]: d for d in data["districts"]}
    assert len(districts) == 12
    assert districts["hoerde"]["name"] == "Hörde"
    assert (districts["hoerde"]["lat"], districts["hoerde"]["lon"]) == (51.483333, 7.5)
    names = [d["name"] for d in data["districts"]]
    assert names == sorted(names)
    carriers = {c["key"]: c["name"] for c in data["carriers"]}
    assert carriers["awo"] == "Arbeiterwohlfahrt (AWO)"
    assert set(carriers) == {
        "stadt-dortmund",
        "awo",
        "diakonie",
        "caritas",
        "drk",
        "paritaet",
        "shdo",
    }


@pytest.mark.parametrize(
    ("query", "precision", "point"),
    [
        ("44263", "POSTCODE", HOERDE_44263),
        ("Hörder Bahnhofstraße 16, 44263 Dortmund", "POSTCODE", HOERDE_44263),
        ("Hörde", "DISTRICT", (51.483333, 7.5)),
    ],
)
def test_geocode(graphql, query, precision, point):
    result = graphql.data(
        "query($q: String!) { geocode(query: $q) { lat lon precision label source } }", q=query
    )["geocode"]
    assert (result["lat"], result["lon"]) == point
    assert result["precision"] == precision
    assert result["label"]
    assert result["source"] == "gazetteer"


def readme_queries() -> list[str]:
    """The GraphQL examples of the README, one per line or block (ids left out)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    queries = []
    for block in re.findall(r"```graphql\n(.*?)```", readme, re.DOTALL):
        if "mutation" in block:  # the writes need a token: test_readme_writes.py
            continue
        parts = [block] if block.lstrip().startswith("{\n") else block.splitlines()
        queries += [part for part in parts if part.strip() and "…" not in part]
    # the custom-field example needs the AWO plugin: test_graphql_extra.py runs it
    return [query for query in queries if "extra:" not in query]


@pytest.mark.parametrize("query", readme_queries())
def test_the_readme_examples_work(graphql, query):
    graphql.data(query)
