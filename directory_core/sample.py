"""A generator of realistic, invented sample offers for an instance.

Used by the demo data set and the benchmark. Every description starts with
"Beispieldaten" so nobody mistakes a sample for a real listing. Offers cluster around
the district points of the instance the way a city's offers do.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from datetime import UTC, datetime

from .model import (
    WEEKDAYS,
    Accessibility,
    Address,
    Contact,
    Cost,
    District,
    Location,
    Offer,
    Precision,
    Schedule,
    ScheduleRule,
)

SAMPLE_MARK = "Beispieldaten (erfunden, nicht geprüft)"

# (kind, title template, categories, description)
TEMPLATES: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    (
        "dementia_group",
        "Demenzcafé {place}",
        ("dementia.groups",),
        "Ein offenes Café für Menschen mit Demenz und ihre Angehörigen, mit Kaffee, Kuchen "
        "und Musik.",
    ),
    (
        "dementia_group",
        "Seniorendemenzgruppe {district}",
        ("dementia.groups", "relief.family_carers"),
        "Betreuungsgruppe für Menschen mit Demenz, damit pflegende Angehörige entlastet werden.",
    ),
    (
        "dementia_group",
        "Gesprächskreis Demenz im {place}",
        ("dementia.advice", "relief.family_carers"),
        "Austausch für Angehörige von Menschen mit Demenz, begleitet von einer Fachkraft.",
    ),
    (
        "service",
        "Fußpflege-Dienst {name}",
        ("encounter.health",),
        "Mobile medizinische Fußpflege, auch als Hausbesuch.",
    ),
    (
        "service",
        "Ambulanter Pflegedienst {name}",
        ("care.outpatient",),
        "Pflege und hauswirtschaftliche Hilfe zu Hause, Beratungsbesuche nach § 37.3 SGB XI.",
    ),
    (
        "service",
        "Seniorenzentrum {name} (Kurzzeit- und Langzeitpflege)",
        ("care.inpatient",),
        "Stationäre Pflege mit Kurzzeitpflegeplätzen, Beratung zur Heimaufnahme.",
    ),
    (
        "service",
        "Tagespflege {place}",
        ("care.day_care", "relief.family_carers"),
        "Tagespflege mit Fahrdienst, Mittagstisch und Aktivierung.",
    ),
    (
        "service",
        "Mittagstisch und Essen auf Rädern {district}",
        ("care.meals",),
        "Warmes Mittagessen im Treff oder nach Hause geliefert.",
    ),
    (
        "service",
        "Besuchsdienst {district}",
        ("care.visiting", "volunteering.placement"),
        "Ehrenamtliche besuchen ältere Menschen zu Hause, gehen mit spazieren oder zum Arzt.",
    ),
    (
        "service",
        "Wohnberatung und Wohnungsanpassung {district}",
        ("housing.adaptation",),
        "Beratung zum barrierefreien Umbau der Wohnung, Hilfe bei Anträgen an die Pflegekasse.",
    ),
    (
        "service",
        "Hausnotruf {name}",
        ("care.outpatient", "housing.assisted_living"),
        "Hausnotruf mit Schlüsselhinterlegung, rund um die Uhr erreichbar.",
    ),
    (
        "service",
        "Sprechstunde Vorsorgevollmacht {district}",
        ("advice.powers_of_attorney",),
        "Information zu Vorsorgevollmacht, Betreuungsverfügung und Patientenverfügung.",
    ),
    (
        "service",
        "Antragshilfe Grundsicherung {district}",
        ("advice.applications",),
        "Hilfe bei Anträgen auf Grundsicherung im Alter, Wohngeld und Pflegeleistungen.",
    ),
    (
        "service",
        "Migrationsberatung für Ältere {district}",
        ("advice.migrants",),
        "Beratung für ältere Zugewanderte, auch in ihrer Muttersprache.",
    ),
    (
        "association",
        "Seniorenverein {district} e.V.",
        ("encounter.meeting", "volunteering.associations"),
        "Verein für gesellige Nachmittage, Ausflüge und Feste.",
    ),
    (
        "association",
        "Nachbarschaftshilfe {place} e.V.",
        ("volunteering.placement", "care.visiting"),
        "Nachbarn helfen Nachbarn: Einkauf, kleine Reparaturen, Begleitung.",
    ),
    (
        "association",
        "Generationentreff {place} e.V.",
        ("intergenerational", "encounter.meeting"),
        "Jung und Alt kochen, spielen und lernen gemeinsam.",
    ),
    (
        "training_offer",
        "Pflegekurs für Angehörige {district}",
        ("relief.training", "relief.family_carers"),
        "Kostenloser Kurs für pflegende Angehörige: Heben und Tragen, Ernährung, Entlastung.",
    ),
    (
        "training_offer",
        "Schulung für Ehrenamtliche in der Demenzbegleitung",
        ("relief.training", "dementia.groups"),
        "Qualifizierung nach § 45a SGB XI für die Begleitung von Menschen mit Demenz.",
    ),
    (
        "training_offer",
        "Computerkurs und Smartphone-Sprechstunde {place}",
        ("encounter.education",),
        "Einführung in Smartphone, Tablet und Internet in kleinen Gruppen.",
    ),
    (
        "meeting_place",
        "Begegnungsstätte {street}",
        ("encounter.meeting", "encounter.culture"),
        "Treffpunkt mit Café, Gymnastik, Chor, Spielenachmittag und Vorträgen.",
    ),
    (
        "meeting_place",
        "Seniorentreff {place}",
        ("encounter.meeting", "encounter.health"),
        "Offener Treff mit Sitzgymnastik, Gedächtnistraining und Frühstück.",
    ),
    (
        "advice_office",
        "Pflegeberatung {name} {district}",
        ("advice.care_counselling", "advice.case_management"),
        "Pflegeberatung und Casemanagement, trägerneutral und kostenlos.",
    ),
)

PLACES = (
    "Gemeindehaus",
    "Bürgerhaus",
    "Stadtteilzentrum",
    "Quartierstreff",
    "Pfarrheim",
    "Nachbarschaftstreff",
    "Familienzentrum",
    "Alten Rathaus",
    "Haus am Park",
)
NAMES = (
    "Sonnenschein",
    "Lindenhof",
    "Am Markt",
    "Rosengarten",
    "Westfalen",
    "Ruhrblick",
    "Kastanienhof",
    "Zeche",
    "Hohensyburg",
    "Rombergpark",
    "Hellweg",
)
STREETS = (
    "Hauptstraße",
    "Kirchstraße",
    "Schulstraße",
    "Bahnhofstraße",
    "Gartenstraße",
    "Lindenstraße",
    "Hellweg",
    "Am Markt",
    "Marktplatz",
    "Bergstraße",
    "Waldstraße",
    "Friedhofstraße",
    "Mühlenweg",
    "Zechenstraße",
    "Ringstraße",
    "Rosenweg",
)
LANGUAGE_MIX = (
    ("de",),
    ("de",),
    ("de",),
    ("de", "tr"),
    ("de", "ru"),
    ("de", "pl"),
    ("de", "en"),
    ("de", "ar"),
    ("de", "tr", "ar"),
    ("de", "el"),
)


def _jitter(rng: random.Random, lat: float, lon: float, sigma_km: float) -> tuple[float, float]:
    """A point near (lat, lon): normal in both directions, sigma in km."""
    dlat = rng.gauss(0, sigma_km) / 111.2
    dlon = rng.gauss(0, sigma_km) / (111.2 * math.cos(math.radians(lat)))
    return round(lat + dlat, 6), round(lon + dlon, 6)


def _schedule(rng: random.Random, kind: str) -> Schedule:
    rules = []
    if kind in ("dementia_group", "meeting_place", "training_offer", "association"):
        for _ in range(rng.choice((1, 1, 2))):
            day = rng.choice(WEEKDAYS[:5])
            start = rng.choice((9, 10, 14, 15))
            if rng.random() < 0.35:
                rule = ScheduleRule(
                    day,
                    f"{start:02d}:00",
                    f"{start + 2:02d}:00",
                    "monthly",
                    weeks_of_month=[rng.choice((1, 2, 3, 4, -1))],
                )
            else:
                rule = ScheduleRule(day, f"{start:02d}:00", f"{start + 2:02d}:00")
            if all(r.weekday != rule.weekday for r in rules):
                rules.append(rule)
    elif kind in ("advice_office", "service"):
        for day in rng.sample(WEEKDAYS[:5], rng.choice((2, 3, 5))):
            rules.append(ScheduleRule(day, "09:00", rng.choice(("12:00", "13:00", "16:00"))))
        rules.sort(key=lambda r: WEEKDAYS.index(r.weekday))
    return Schedule(rules=rules)


def generate_offers(
    districts: list[District],
    carriers: list[str],
    n: int,
    *,
    seed: int = 1,
    city: str = "",
    postcodes: list[tuple[str, float, float]] | None = None,
) -> Iterator[Offer]:
    """``n`` invented offers spread around ``districts`` (all kinds and categories).

    ``postcodes`` (code, lat, lon) lets each offer carry the nearest real postcode.
    """
    rng = random.Random(seed)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(n):
        district = districts[i % len(districts)] if i < len(districts) else rng.choice(districts)
        kind, template, categories, text = (
            TEMPLATES[i % len(TEMPLATES)] if i < len(TEMPLATES) else rng.choice(TEMPLATES)
        )
        lat, lon = _jitter(rng, district.lat, district.lon, rng.choice((0.6, 1.0, 1.6)))
        street = f"{rng.choice(STREETS)} {rng.randint(1, 180)}"
        title = template.format(
            place=rng.choice(PLACES), district=district.name, name=rng.choice(NAMES), street=street
        )
        postcode = ""
        if postcodes:
            postcode = min(postcodes, key=lambda p: (p[1] - lat) ** 2 + (p[2] - lon) ** 2)[0]
        free = kind != "service" or rng.random() < 0.3
        channels = ["in_person"] + rng.sample(["phone", "online", "home_visit"], rng.randint(0, 2))
        yield Offer(
            title=title,
            kind=kind,
            description=f"{SAMPLE_MARK}. {text}",
            carrier=rng.choice(carriers) if carriers else None,
            categories=list(categories),
            address=Address(street=street, postcode=postcode, city=city),
            location=Location(lat, lon, Precision.ADDRESS),
            contact=Contact(
                phone=f"0231 {rng.randint(100000, 999999)}",
                email=f"kontakt{i}@beispiel.invalid",
                website="https://beispiel.invalid/angebot",
            ),
            channels=channels,
            schedule=_schedule(rng, kind),
            languages=list(rng.choice(LANGUAGE_MIX)),
            accessibility=Accessibility(
                wheelchair=rng.random() < 0.6,
                hearing_loop=rng.random() < 0.15,
                easy_language=rng.random() < 0.25,
                note="Eingang ebenerdig" if rng.random() < 0.3 else "",
            ),
            cost=Cost(free_of_charge=free, note="" if free else "Kosten auf Anfrage"),
            target_groups=["Ältere Menschen"]
            + (["Pflegende Angehörige"] if "relief.family_carers" in categories else []),
            verified_at=None,
            external_id=f"sample-{seed}-{i}",
            created_at=now,
        )
