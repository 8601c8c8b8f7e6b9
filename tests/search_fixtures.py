"""Deterministic search test data and the registry of backends under test.

``generate_documents(n, seed)`` builds ``SearchDocument`` values spread over Dortmund and
Bochum (partly clustered around district centres), with German titles that exercise the
text rules (``Straße``/``Strasse``, ``Fußpflege``/``Fusspflege``, ``Demenzcafé``,
``Seniorendemenzgruppe``), archived offers, offers without location, duplicate locations
(distance ties), schedules and custom fields.

``BACKEND_FACTORIES`` maps a backend name to a factory ``(tmp_dir) -> SearchBackend``; the
conformance suite runs once per entry. To add a backend, append a factory (it may call
``pytest.skip`` when its server is not available). The Elasticsearch entries use the
servers named by ``DIRECTORY_TEST_ES_URL`` (one node) and ``DIRECTORY_TEST_ES3_URL``
(three nodes); each backend gets its own index prefix and deletes its indices on
``close``.
"""

from __future__ import annotations

import datetime
import os
import random
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from directory_search.base import GeoPoint, ScheduleSlot, SearchBackend, SearchDocument
from directory_search.embedded import EmbeddedBackend

KINDS = (
    "service",
    "association",
    "dementia_group",
    "training_offer",
    "advice_office",
    "meeting_place",
)

# (key, label, parent): a small tree; documents carry the expanded lists.
CATEGORY_TREE: tuple[tuple[str, str, str | None], ...] = (
    ("advice", "Beratung", None),
    ("advice.care_counselling", "Pflegeberatung", "advice"),
    ("advice.powers_of_attorney", "Vorsorgevollmacht und Patientenverfügung", "advice"),
    ("care", "Pflege zu Hause", None),
    ("care.outpatient", "Ambulante Pflege", "care"),
    ("care.meals", "Mahlzeitendienste", "care"),
    ("care.visiting", "Besuchsdienste", "care"),
    ("relief", "Entlastung pflegender Angehöriger", None),
    ("relief.family_carers", "Angebote für Angehörige", "relief"),
    ("dementia", "Demenz", None),
    ("dementia.groups", "Demenzgruppen und Demenzcafés", "dementia"),
    ("dementia.advice", "Demenzberatung", "dementia"),
    ("housing", "Wohnen", None),
    ("housing.adaptation", "Wohnungsanpassung", "housing"),
    ("encounter", "Begegnung und Kultur", None),
    ("encounter.meeting", "Begegnung und Geselligkeit", "encounter"),
    ("encounter.health", "Gesundheit und Bewegung", "encounter"),
    ("encounter.culture", "Kultur", "encounter"),
    ("volunteering", "Ehrenamt", None),
)
CATEGORY_LABELS = {key: label for key, label, _ in CATEGORY_TREE}
_PARENT = {key: parent for key, _, parent in CATEGORY_TREE}


def expand_category(key: str) -> list[str]:
    """The key and its ancestors, root first."""
    out = []
    node: str | None = key
    while node is not None:
        out.append(node)
        node = _PARENT[node]
    return out[::-1]


def descendants(key: str) -> list[str]:
    return [k for k in CATEGORY_LABELS if k == key or k.startswith(key + ".")]


# district key -> (label, lat, lon)
DISTRICTS: dict[str, tuple[str, float, float]] = {
    "do.innenstadt_west": ("Innenstadt-West", 51.5105, 7.4520),
    "do.innenstadt_nord": ("Innenstadt-Nord", 51.5290, 7.4600),
    "do.innenstadt_ost": ("Innenstadt-Ost", 51.5050, 7.4900),
    "do.eving": ("Eving", 51.5560, 7.4750),
    "do.scharnhorst": ("Scharnhorst", 51.5400, 7.5400),
    "do.brackel": ("Brackel", 51.5170, 7.5600),
    "do.aplerbeck": ("Aplerbeck", 51.4850, 7.5600),
    "do.hoerde": ("Hörde", 51.4870, 7.5080),
    "do.hombruch": ("Hombruch", 51.4700, 7.4400),
    "do.luetgendortmund": ("Lütgendortmund", 51.5000, 7.3450),
    "do.huckarde": ("Huckarde", 51.5400, 7.4100),
    "do.mengede": ("Mengede", 51.5750, 7.3850),
    "bo.mitte": ("Bochum-Mitte", 51.4820, 7.2160),
    "bo.wattenscheid": ("Wattenscheid", 51.4800, 7.1400),
    "bo.nord": ("Bochum-Nord", 51.5150, 7.2500),
    "bo.ost": ("Bochum-Ost", 51.4750, 7.2900),
    "bo.sued": ("Bochum-Süd", 51.4400, 7.2500),
    "bo.suedwest": ("Bochum-Südwest", 51.4500, 7.1800),
}
CITY_BOXES = {
    "do": (51.42, 51.60, 7.30, 7.64),
    "bo": (51.41, 51.53, 7.10, 7.35),
}
CARRIERS = {
    "awo": "AWO Unterbezirk",
    "caritas": "Caritasverband",
    "diakonie": "Diakonisches Werk",
    "drk": "Deutsches Rotes Kreuz",
    "stadt": "Stadt, Seniorenbüro",
    "paritaet": "Der Paritätische",
    "verein": "Bürgerverein",
}
LANGUAGES = ("de", "tr", "ru", "pl", "ar", "en", "el")
CHANNELS = ("in_person", "phone", "online", "home_visit")
ACCESSIBILITY = ("wheelchair", "hearing_loop", "easy_language")
STREETS = (
    "Hauptstraße",
    "Kirchstrasse",
    "Müllerstraße",
    "Muellerweg",
    "Große Straße",
    "Am Markt",
    "Schützenstr.",
    "Hörder Bahnhofstraße",
)
TITLES: dict[str, tuple[str, ...]] = {
    "dementia_group": (
        "Demenzcafé {district}",
        "Seniorendemenzgruppe",
        "DEMENZCAFÉ am {street}",
        "Gruppe für Menschen mit Demenz",
        "Angehörigengruppe Demenz",
        "Gedächtnistraining",
    ),
    "service": (
        "Fußpflege-Dienst",
        "Mobiler Fusspflegedienst {district}",
        "Hausnotruf",
        "Essen auf Rädern",
        "Fahrdienst für Seniorinnen und Senioren",
        "Einkaufshilfe {street}",
    ),
    "association": (
        "Seniorenverein {district}",
        "Heimatverein",
        "Förderverein der Begegnungsstätte",
        "Nachbarschaftshilfe e. V.",
    ),
    "training_offer": (
        "Computerkurs für Ältere",
        "Smartphone-Sprechstunde",
        "Schulung für pflegende Angehörige",
        "Gymnastik im Sitzen",
        "Tanzcafé {district}",
    ),
    "advice_office": (
        "Seniorenbüro {district}",
        "Pflegeberatung",
        "Wohnberatung und Wohnungsanpassung",
        "Beratung zur Vorsorgevollmacht",
    ),
    "meeting_place": (
        "Begegnungsstätte an der Straße",
        "Begegnungsstätte {street}",
        "Nachbarschaftstreff",
        "Seniorentreff {street}",
        "Café Kränzchen",
        "Mittagstisch im Quartier",
    ),
}
KIND_CATEGORIES: dict[str, tuple[str, ...]] = {
    "dementia_group": ("dementia.groups", "relief.family_carers", "encounter.meeting"),
    "service": ("care.outpatient", "care.meals", "care.visiting", "encounter.health"),
    "association": ("volunteering", "encounter.meeting", "encounter.culture"),
    "training_offer": ("relief.family_carers", "encounter.health", "encounter.culture"),
    "advice_office": (
        "advice.care_counselling",
        "advice.powers_of_attorney",
        "dementia.advice",
        "housing.adaptation",
    ),
    "meeting_place": ("encounter.meeting", "encounter.culture", "care.meals"),
}
DESCRIPTION_PARTS = (
    "Wir treffen uns jede Woche zum Kaffeetrinken.",
    "Bitte melden Sie sich vorher telefonisch an.",
    "Das Angebot richtet sich an ältere Menschen und ihre Angehörigen.",
    "Barrierefreier Zugang über den Hof.",
    "Gemeinsames Singen, Spielen und Erzählen.",
    "Beratung zu Pflegegrad, Pflegegeld und Entlastungsbetrag.",
    "Hilfe bei Anträgen und Behördengängen.",
    "Treffpunkt ist die Begegnungsstätte an der Straße.",
    "Fußpflege und Maniküre auch als Hausbesuch.",
    "Seniorengymnastik und Sturzprophylaxe.",
    "Mittagessen für 4,50 Euro.",
    "Türkçe ve Almanca danışmanlık.",
    "Консультация на русском языке.",
    "Ehrenamtliche besuchen Sie zu Hause.",
    "Die Gruppe wird von Frau Müller geleitet.",
    "Herr Mueller berät in der Sprechstunde.",
    "Für Menschen mit Demenz und Gedächtnisproblemen.",
    "Internet-Café und Computerhilfe.",
)


def _point(rng: random.Random) -> tuple[float, float, str | None]:
    """A point and its district: 65 % clustered around a district centre."""
    if rng.random() < 0.65:
        key = rng.choice(list(DISTRICTS))
        _, lat, lon = DISTRICTS[key]
        spread = rng.choice((0.002, 0.006, 0.015))
        return lat + rng.gauss(0, spread), lon + rng.gauss(0, spread * 1.6), key
    city = "do" if rng.random() < 0.62 else "bo"
    lat0, lat1, lon0, lon1 = CITY_BOXES[city]
    lat, lon = rng.uniform(lat0, lat1), rng.uniform(lon0, lon1)
    candidates = [k for k in DISTRICTS if k.startswith(city + ".")]
    nearest = min(
        candidates, key=lambda k: (DISTRICTS[k][1] - lat) ** 2 + (DISTRICTS[k][2] - lon) ** 2
    )
    return lat, lon, nearest


def _slots(rng: random.Random) -> list[ScheduleSlot]:
    out = []
    for _ in range(rng.choice((0, 0, 1, 1, 1, 2, 3))):
        start = rng.randrange(8 * 60, 19 * 60, 30)
        out.append(ScheduleSlot(rng.randrange(7), start, start + rng.choice((60, 90, 120, 180))))
    return out


def _extra(rng: random.Random, carrier: str | None) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if carrier == "awo" or rng.random() < 0.15:
        extra["awo.transport_service"] = rng.random() < 0.5
    if rng.random() < 0.3:
        extra["x.places"] = rng.randrange(0, 40)
    if rng.random() < 0.2:
        extra["x.fee"] = round(rng.uniform(0, 20), 2)
    if rng.random() < 0.25:
        extra["x.tags"] = rng.sample(["kurs", "gruppe", "mobil", "online", "frauen", "maenner"], 2)
    if rng.random() < 0.2:
        extra["x.since"] = f"20{rng.randrange(10, 25):02d}-{rng.randrange(1, 13):02d}-01"
    if rng.random() < 0.1:
        extra["x.note"] = rng.choice(["mit Fahrdienst", "ohne Anmeldung", "Fahrdienst möglich"])
    if rng.random() < 0.05:
        extra["x.flag"] = 1  # an integer 1, not True
    if rng.random() < 0.1:  # not JSON: stored as an ISO string by every backend
        extra["x.opened"] = datetime.date(rng.randrange(2000, 2025), rng.randrange(1, 13), 1)
    return extra


def generate_documents(n: int, seed: int = 1) -> list[SearchDocument]:
    """``n`` deterministic documents for ``seed``."""
    rng = random.Random(seed)
    docs: list[SearchDocument] = []
    used_ids: set[str] = set()
    for i in range(n):
        doc_id = f"{rng.getrandbits(40):010x}-{i:06d}"
        used_ids.add(doc_id)
        kind = KINDS[i % len(KINDS)] if rng.random() < 0.3 else rng.choice(KINDS)
        lat, lon, district = _point(rng)
        location: GeoPoint | None = GeoPoint(round(lat, 6), round(lon, 6))
        r = rng.random()
        if r < 0.05:
            location = None  # e.g. a telephone hotline
            district = rng.choice([None, district])
        elif r < 0.09 and docs:
            twin = docs[rng.randrange(len(docs))]  # several offers at one address
            if twin.location is not None:
                location, district = twin.location, twin.district
        elif r < 0.11:
            district = None
        carrier = rng.choice([*CARRIERS, None])
        leafs = rng.sample(KIND_CATEGORIES[kind], rng.choice((1, 1, 2)))
        if rng.random() < 0.05:
            leafs.append(rng.choice([k for k, _, _ in CATEGORY_TREE]))
        categories = list(dict.fromkeys(c for leaf in leafs for c in expand_category(leaf)))
        district_label = DISTRICTS[district][0] if district else "Dortmund"
        template = rng.choice(TITLES[kind])
        title = template.format(district=district_label, street=rng.choice(STREETS))
        if rng.random() < 0.03:
            title = title.upper()
        description = " ".join(rng.sample(DESCRIPTION_PARTS, rng.choice((1, 2, 3))))
        text = [title, description]
        if carrier:
            text.append(CARRIERS[carrier])
        text.extend(CATEGORY_LABELS[c] for c in categories)
        languages = ["de"] if rng.random() < 0.9 else []
        languages += rng.sample(LANGUAGES[1:], rng.choice((0, 0, 0, 1, 2)))
        docs.append(
            SearchDocument(
                id=doc_id,
                kind=kind,
                title=title,
                status="archived" if rng.random() < 0.08 else "active",
                text=text,
                location=location,
                district=district,
                carrier=carrier,
                categories=categories,
                languages=languages,
                channels=rng.sample(CHANNELS, rng.choice((0, 1, 1, 2, 3))),
                free_of_charge=rng.random() < 0.5,
                accessibility=rng.sample(ACCESSIBILITY, rng.choice((0, 0, 1, 1, 2, 3))),
                slots=_slots(rng),
                extra=_extra(rng, carrier),
            )
        )
    return docs


def embedded_factory(tmp_dir: Path) -> SearchBackend:
    return EmbeddedBackend(tmp_dir / "search.sqlite")


# -- Elasticsearch ---------------------------------------------------------------------------

ES_URL_VARIABLE = "DIRECTORY_TEST_ES_URL"  # one node (.ci/elasticsearch.sh start)
ES3_URL_VARIABLE = "DIRECTORY_TEST_ES3_URL"  # three nodes (ES_NODES=3 ... start)


def elasticsearch_url(variable: str = ES_URL_VARIABLE) -> str:
    """The Elasticsearch URL in the environment variable ``variable``. Without it the test
    is skipped, or fails when ``CI`` is set (CI must not skip the real-server tests)."""
    url = os.environ.get(variable)
    if not url:
        message = (
            f"{variable} is not set: these tests need a real Elasticsearch "
            '(eval "$(.ci/elasticsearch.sh start)"; export ' + variable + '="$ES_URL")'
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return url


def unique_prefix(label: str) -> str:
    """An index prefix no other test (or test run) uses."""
    return f"test-{label}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _disposable_elasticsearch(url: str, label: str, **options: Any) -> SearchBackend:
    """An Elasticsearch backend on a fresh prefix whose ``close`` deletes its indices."""
    from directory_search.elastic import ElasticsearchBackend

    class Disposable(ElasticsearchBackend):
        def close(self) -> None:
            try:
                self.drop()
            finally:
                super().close()

    return Disposable(url, unique_prefix(label), bulk_chunk=2000, **options)


def elasticsearch_factory(tmp_dir: Path) -> SearchBackend:
    """One node, one shard, no replica."""
    return _disposable_elasticsearch(elasticsearch_url(ES_URL_VARIABLE), "conf", replicas=0)


def elasticsearch_3nodes_factory(tmp_dir: Path) -> SearchBackend:
    """Three nodes, two shards (hits, totals and facets merged across shards), one replica."""
    url = elasticsearch_url(ES3_URL_VARIABLE)
    return _disposable_elasticsearch(url, "conf3", shards=2, replicas=1)


BACKEND_FACTORIES: dict[str, Callable[[Path], SearchBackend]] = {
    "embedded": embedded_factory,
    "elasticsearch": elasticsearch_factory,
    "elasticsearch-3nodes": elasticsearch_3nodes_factory,
}
# pytest marks of the backends' parameters (select or deselect with -m)
BACKEND_MARKS: dict[str, tuple[pytest.MarkDecorator, ...]] = {
    "elasticsearch": (pytest.mark.elasticsearch,),
    "elasticsearch-3nodes": (pytest.mark.elasticsearch,),
}
