"""The model's own helpers: offer ids."""

from __future__ import annotations

import time
import uuid

from directory_core.model import Offer, new_id


def test_offer_ids_are_version_7_uuids_in_canonical_form():
    for offer_id in (new_id(), Offer(title="Treff", kind="meeting_place").id):
        parsed = uuid.UUID(offer_id)
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
        assert str(parsed) == offer_id


def test_an_offer_id_carries_the_millisecond_of_its_making():
    before = time.time_ns() // 1_000_000
    made = uuid.UUID(new_id()).int >> 80
    after = time.time_ns() // 1_000_000
    assert before <= made <= after


def test_offer_ids_made_later_sort_after_earlier_ones():
    """(As long as the system clock does not step back meanwhile.)"""
    # the first 60 bits (time) never go down; ids of the same 1/4096 ms differ after them
    burst = [new_id() for _ in range(20_000)]
    times = [uuid.UUID(i).int >> 68 for i in burst]
    assert times == sorted(times)
    # and the text of the ids sorts the same way (what the store's indexes compare)
    assert [uuid.UUID(i).int >> 68 for i in sorted(burst)] == times
    first = new_id()
    time.sleep(0.002)
    assert new_id() > first


def test_offer_ids_do_not_repeat():
    ids = [new_id() for _ in range(100_000)]
    assert len(set(ids)) == len(ids)
    # the 62 random bits differ even between ids of the same instant
    assert len({uuid.UUID(i).int & ((1 << 62) - 1) for i in ids}) == len(ids)


def test_a_rule_describes_its_values_now_also_after_a_change_in_place():
    from directory_core.model import ScheduleRule

    rule = ScheduleRule("mon", "09:00", "12:00")
    assert rule.describe() == "jeden Montag, 09:00–12:00 Uhr"
    rule.start, rule.frequency, rule.weeks_of_month = "10:00", "monthly", [2, -1]
    assert rule.describe() == "jeden 2., letzten Montag im Monat, 10:00–12:00 Uhr"
    rule.weeks_of_month.append(1)  # the memory is keyed by the values, not the list
    assert rule.describe() == "jeden 2., letzten, 1. Montag im Monat, 10:00–12:00 Uhr"
    assert ScheduleRule("tue", "14:00", "16:00", interval=2).describe() == (
        "alle 2 Wochen Dienstag, 14:00–16:00 Uhr"
    )
