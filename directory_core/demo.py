"""The demo data set of an instance: its advice offices and meeting places from public
sources (marked as unverified demo data), plus invented sample offers.

Loading is idempotent: offers are matched by (carrier, external id) and updated.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from pathlib import Path

from .directory import Directory
from .gazetteer import Gazetteer
from .model import Address, Contact, Location, Offer, Precision, Schedule
from .sample import generate_offers

DEMO_DATA = Path(__file__).parent / "data" / "demo"
DEMO_MARK = "Demodaten aus öffentlichen Quellen, nicht geprüft"


def _clean(value: str) -> str:
    """Drop remarks in brackets: "0231 50-29640 (source: ...)" -> "0231 50-29640".

    Innermost brackets first, so nested ones ("(source: "(0231) 5023311")") go too.
    """
    text, previous = value or "", None
    while text != previous:
        previous, text = text, re.sub(r"\s*\([^()]*\)\s*", " ", text)
    return text.strip()


def _slug(text: str) -> str:
    table = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
    return re.sub(r"[^a-z0-9]+", "-", text.lower().translate(table)).strip("-")


def _rows(name: str, city: str) -> Iterable[dict[str, str]]:
    with (DEMO_DATA / name).open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["city"] == city:
                yield row


def _public_offer(
    directory: Directory, row: dict[str, str], kind: str, categories: list[str], key: str
) -> Offer:
    gazetteer = Gazetteer(directory.districts, city=directory.instance.city)
    district_key = _slug(row["stadtbezirk"])
    district = directory.district_by_key.get(district_key)
    postcode = row.get("plz", "").strip()
    street = _clean(row.get("street", ""))
    if "address not given" in street or "–" in street:
        street = ""
    location = None
    found = gazetteer.postcode(postcode) if postcode else None
    if found is not None:
        location = Location(found.lat, found.lon, Precision.POSTCODE)
    elif district is not None:
        location = Location(district.lat, district.lon, Precision.DISTRICT)
    note = row.get("location_note") or row.get("note") or ""
    source = row.get("source_url", "")
    description = f"{DEMO_MARK} (Stand: {row.get('source_date') or 'unbekannt'})."
    if note:
        description += f" Hinweis zur Quelle: {note}"
    if source:
        description += f" Quelle: {source}"
    email = row.get("email", "").strip()
    phone = _clean(row.get("phone", ""))
    city_carrier = f"stadt-{_slug(directory.instance.city)}"
    return Offer(
        title=row["name"],
        kind=kind,
        description=description,
        carrier=city_carrier if city_carrier in directory.carrier_by_key else None,
        categories=categories,
        district=district.key if district else None,
        district_manual=district is not None,
        address=Address(street=street, postcode=postcode, city=directory.instance.city),
        location=location,
        contact=Contact(phone=phone, email=email),
        channels=["in_person", "phone", "home_visit"] if kind == "advice_office" else ["in_person"],
        schedule=Schedule(note=row.get("opening_hours_as_stated", "")),
        languages=["de"],
        target_groups=["Ältere Menschen", "Angehörige"],
        external_id=key,
    )


def demo_offers(directory: Directory, samples: int = 400, seed: int = 7) -> list[Offer]:
    """The instance's demo offers (not yet saved)."""
    city = directory.instance.city
    offers = [
        _public_offer(
            directory,
            row,
            "advice_office",
            ["advice.care_counselling", "advice.case_management"],
            f"demo-office-{_slug(row['name'])}",
        )
        for row in _rows("seniorenbueros_dortmund_bochum.csv", city)
    ]
    offers += [
        _public_offer(
            directory,
            row,
            "meeting_place",
            ["encounter.meeting"],
            f"demo-place-{_slug(row['name'])}",
        )
        for row in _rows("senior_offers_dortmund.csv", city)
    ]
    postcodes = [
        (code, found.lat, found.lon)
        for code, found in Gazetteer(directory.districts, city=city).postcodes_in(city).items()
    ]
    offers += generate_offers(
        directory.districts,
        [c.key for c in directory.carriers],
        samples,
        seed=seed,
        city=city,
        postcodes=postcodes,
    )
    return offers


def load_demo(directory: Directory, samples: int = 400) -> int:
    """Write the demo data set (updating earlier demo offers); return the count."""
    offers = demo_offers(directory, samples)
    by_carrier: dict[str | None, list[Offer]] = {}
    for offer in offers:
        by_carrier.setdefault(offer.carrier, []).append(offer)
    for carrier, group in by_carrier.items():
        if carrier is None:
            continue
        known = directory.store.find_external(carrier, [o.external_id for o in group])
        for offer in group:
            offer.id = known.get(offer.external_id, offer.id)
    directory.save(offers, where="demo offer")
    return len(offers)
