"""Schedules as people write them: parse_rules and its inverse format_rules."""

from __future__ import annotations

import pytest

from directory_core.instance import load_instance
from directory_core.model import ScheduleRule
from directory_core.sample import generate_offers
from directory_core.schedule_text import format_rules, parse_rules

from .import_fixtures import DORTMUND

WORKDAYS = ("mon", "tue", "wed", "thu", "fri")


def weekly(day: str, start: str, end: str, interval: int = 1) -> ScheduleRule:
    return ScheduleRule(day, start, end, "weekly", interval=interval)


def monthly(day: str, start: str, end: str, *weeks: int) -> ScheduleRule:
    return ScheduleRule(day, start, end, "monthly", weeks_of_month=list(weeks))


@pytest.mark.parametrize(
    ("text", "rules"),
    [
        ("Di 14:00-16:00", [weekly("tue", "14:00", "16:00")]),
        ("Dienstag 14–16 Uhr", [weekly("tue", "14:00", "16:00")]),
        ("dienstags von 14 bis 16 Uhr", [weekly("tue", "14:00", "16:00")]),
        ("Di. 9.30 - 11.00", [weekly("tue", "09:30", "11:00")]),
        ("jeden 2. Dienstag 14:00-16:00", [monthly("tue", "14:00", "16:00", 2)]),
        ("jeden zweiten Dienstag im Monat 14-16", [monthly("tue", "14:00", "16:00", 2)]),
        ("2. und 4. Mi 10-12", [monthly("wed", "10:00", "12:00", 2, 4)]),
        ("letzter Fr 15:00-17:00", [monthly("fri", "15:00", "17:00", -1)]),
        ("jeden 1. und letzten Montag 9-10", [monthly("mon", "09:00", "10:00", 1, -1)]),
        (
            "2. Mo und 4. Mi 10-11",
            [monthly("mon", "10:00", "11:00", 2), monthly("wed", "10:00", "11:00", 4)],
        ),
        ("Mo, Mi 9-12", [weekly("mon", "09:00", "12:00"), weekly("wed", "09:00", "12:00")]),
        ("Mo und Do 9-12", [weekly("mon", "09:00", "12:00"), weekly("thu", "09:00", "12:00")]),
        ("Mo-Mi 8-9", [weekly(d, "08:00", "09:00") for d in ("mon", "tue", "wed")]),
        ("werktags 8-9", [weekly(d, "08:00", "09:00") for d in WORKDAYS]),
        ("Mo 9-12, 14-16", [weekly("mon", "09:00", "12:00"), weekly("mon", "14:00", "16:00")]),
        ("alle 2 Wochen Do 10-12", [weekly("thu", "10:00", "12:00", 2)]),
        ("alle drei Wochen Do 10-12", [weekly("thu", "10:00", "12:00", 3)]),
        ("14-tägig Di 10:30-12", [weekly("tue", "10:30", "12:00", 2)]),
        ("vierzehntägig freitags 10-11", [weekly("fri", "10:00", "11:00", 2)]),
        ("tue 14:00-16:00", [weekly("tue", "14:00", "16:00")]),
        ("Tuesdays 2pm-4pm", [weekly("tue", "14:00", "16:00")]),
        ("every other Thursday 2-4pm", [weekly("thu", "14:00", "16:00", 2)]),
        ("every 2 weeks on Sat 10am-12pm", [weekly("sat", "10:00", "12:00", 2)]),
        ("first and third Monday of the month 10-12", [monthly("mon", "10:00", "12:00", 1, 3)]),
        ("2nd and 4th wed 10:00-11:30", [monthly("wed", "10:00", "11:30", 2, 4)]),
        ("last fri 3pm-5pm", [monthly("fri", "15:00", "17:00", -1)]),
        ("mon-fri 9-17", [weekly(d, "09:00", "17:00") for d in WORKDAYS]),
        (
            "Di 14:00-16:00; jeden 2. Mi 10-12\nSo 11-12",
            [
                weekly("tue", "14:00", "16:00"),
                monthly("wed", "10:00", "12:00", 2),
                weekly("sun", "11:00", "12:00"),
            ],
        ),
        ("", []),
        ("  ;  ", []),
    ],
)
def test_parse(text, rules):
    assert parse_rules(text) == rules


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Di 14:00-16:00; Xy 10-12", "cannot read 'Xy 10-12': unknown word 'xy'"),
        ("Dienstag nachmittags", "cannot read 'Dienstag nachmittags': no time range"),
        ("Di 16-14", "cannot read 'Di 16-14': the time 16:00-14:00 ends before it starts"),
        ("Di 25-26 Uhr", "25:00 is not a time of day"),
        ("Di 10:75-11", "10:75 is not a time of day"),
        ("6. Di 10-12", "there is no 6. weekday in a month"),
        ("Fr-Mo 9-10", "the day range fr-mo runs backwards"),
        ("2. 10-12", "cannot read '2. 10-12': no weekday"),
        ("Mo, Mo 9-10", "names Mo twice"),
        ("2. alle 2 Wochen Di 9-10", "cannot combine weeks of the month with 'every N weeks'"),
        ("Di 13pm-14pm", "13pm is not a time"),
        ("Di 9-10 @ Gemeindehaus", "unexpected '@'"),
    ],
)
def test_errors_name_the_part_and_the_reason(text, message):
    with pytest.raises(ValueError) as caught:
        parse_rules(text)
    assert message in str(caught.value)


def test_format_rules_writes_german():
    rules = parse_rules("Mo, Mi 9-12; jeden 2. und letzten Di 14-16; alle 2 Wochen Do 10-11")
    assert format_rules(rules) == (
        "Mo, Mi 09:00–12:00 Uhr; jeden 2. und letzten Di 14:00–16:00 Uhr; "
        "alle 2 Wochen Do 10:00–11:00 Uhr"
    )
    assert format_rules([]) == ""


def test_format_rules_is_the_inverse_of_parse_rules():
    instance = load_instance(DORTMUND)
    offers = generate_offers(instance.districts, ["awo"], 400, seed=7)
    schedules = [o.schedule.rules for o in offers if o.schedule.rules]
    schedules.append(
        [
            weekly("sat", "10:30", "11:45", 3),
            monthly("sun", "00:00", "23:59", 1, 2, 3, 4, 5),
            weekly("mon", "09:00", "12:00"),
            weekly("mon", "13:00", "14:00"),
        ]
    )
    assert len(schedules) > 300
    for rules in schedules:
        assert parse_rules(format_rules(rules)) == rules
