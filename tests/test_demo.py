"""The demo data set: real offices marked as unverified demo data, invented samples of
every kind and category, idempotent loading, separate instances."""

from __future__ import annotations

import dataclasses

import pytest
from directory_search.base import SearchQuery

from directory_core.categories import DEFAULT_CATEGORIES
from directory_core.demo import DEMO_MARK, load_demo
from directory_core.directory import open_directory
from directory_core.instance import load_instance
from directory_core.model import OfferKind
from directory_core.sample import SAMPLE_MARK


def _open(tmp_path, name):
    instance = load_instance(f"instances/{name}.toml")
    instance = dataclasses.replace(instance, store_url=f"sqlite:///{tmp_path / name}.sqlite")
    return open_directory(instance)


@pytest.fixture
def dortmund(tmp_path):
    directory = _open(tmp_path, "dortmund")
    yield directory
    directory.close()


def _all(directory):
    ids = [hit.id for hit in directory.search(SearchQuery(limit=10000)).hits]
    return list(directory.get_many(ids).values())


def test_dortmund_demo_has_all_twelve_offices_marked_as_demo(dortmund):
    count = load_demo(dortmund, samples=300)
    offers = _all(dortmund)
    assert len(offers) == count
    offices = [o for o in offers if o.external_id.startswith("demo-office-")]
    assert len(offices) == 12
    assert {o.district for o in offices} == {d.key for d in dortmund.districts}
    for office in offices:
        assert office.kind == "advice_office"
        assert office.description.startswith(DEMO_MARK)
        assert office.verified_at is None
        assert office.location is not None
    hoerde = next(o for o in offices if o.title == "Seniorenbüro Hörde")
    assert hoerde.address.street == "Hörder Bahnhofstraße 16"
    assert hoerde.contact.email == "seniorenbuero.hoerde@dortmund.de"
    assert hoerde.location.precision == "postcode"


def test_samples_cover_every_kind_and_category_and_are_labelled(dortmund):
    load_demo(dortmund, samples=300)
    samples = [o for o in _all(dortmund) if o.external_id.startswith("sample-")]
    assert len(samples) == 300
    assert all(o.description.startswith(SAMPLE_MARK) for o in samples)
    assert {o.kind for o in samples} == {k.value for k in OfferKind}
    parents = {parent for _, _, parent in DEFAULT_CATEGORIES if parent}
    leaves = {key for key, _, _ in DEFAULT_CATEGORIES if key not in parents}
    used = {key for o in samples for key in o.categories}
    assert used == leaves
    assert len({o.district for o in samples}) == 12


def test_loading_twice_updates_instead_of_duplicating(dortmund):
    first = load_demo(dortmund, samples=50)
    load_demo(dortmund, samples=50)
    assert dortmund.store.count_offers() == first


def test_bochum_is_a_separate_instance(tmp_path):
    bochum = _open(tmp_path, "bochum")
    dortmund = _open(tmp_path, "dortmund")
    try:
        load_demo(bochum, samples=30)
        assert dortmund.store.count_offers() == 0
        offices = [o for o in _all(bochum) if o.kind == "advice_office" and o.carrier]
        assert offices and all(o.district.startswith("bochum-") for o in _all(bochum))
    finally:
        bochum.close()
        dortmund.close()
