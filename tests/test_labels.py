"""Labels of the directory's keys in the page languages (``directory_core.labels``)."""

from __future__ import annotations

import pytest

from directory_core.labels import (
    LanguageError,
    accessibility_label,
    category_label,
    channel_label,
    check_language,
    describe_rule,
    kind_label,
    language_name,
    translate,
    weekday_label,
)
from directory_core.model import Category, ScheduleRule


def test_german_is_the_model_s_own_wording():
    assert kind_label("dementia_group") == "Demenzgruppe"
    assert weekday_label("tue") == "Dienstag"
    rule = ScheduleRule("tue", "14:00", "16:00")
    assert describe_rule(rule) == rule.describe() == "jeden Dienstag, 14:00–16:00 Uhr"


@pytest.mark.parametrize(
    "lang, kind, weekday, channel",
    [
        ("en", "Dementia group", "Tuesday", "home visit"),
        ("tr", "Demans grubu", "Salı", "ev ziyareti"),
        ("ar", "مجموعة الخرف", "الثلاثاء", "زيارة منزلية"),
        ("uk", "Група для людей з деменцією", "вівторок", "візит додому"),
    ],
)
def test_labels_in_other_languages(lang, kind, weekday, channel):
    assert kind_label("dementia_group", lang) == kind
    assert weekday_label(1, lang) == weekday
    assert channel_label("home_visit", lang) == channel


def test_categories_of_an_instance_without_translation_stay_german():
    assert category_label(Category("dementia", "Demenz"), "it") == "Demenza"
    assert category_label(Category("x", "Ganz eigene Kategorie"), "it") == "Ganz eigene Kategorie"


def test_schedules_in_words():
    weekly = ScheduleRule("wed", "09:00", "12:00")
    monthly = ScheduleRule("thu", "10:00", "12:00", "monthly", weeks_of_month=[1, -1])
    fortnightly = ScheduleRule("fri", "15:00", "17:00", interval=2)
    assert describe_rule(weekly, "en") == "every Wednesday, 09:00–12:00"
    assert describe_rule(monthly, "en") == "every 1., last Thursday of the month, 10:00–12:00"
    assert describe_rule(fortnightly, "en") == "every 2 weeks on Friday, 15:00–17:00"
    assert describe_rule(weekly, "tr") == "her Çarşamba, 09:00–12:00"


def test_language_names_come_from_cldr():
    assert language_name("tr") == "Türkisch"
    assert language_name("tr", "en") == "Turkish"
    assert language_name("de", "tr") == "Almanca"
    assert language_name("xx", "en") == "xx"


def test_accessibility_and_unknown_keys():
    assert accessibility_label("wheelchair", "en") == "wheelchair accessible"
    assert translate("", "en") == ""
    assert kind_label("unknown_kind", "en") == "unknown_kind"


def test_unknown_language_is_named():
    assert check_language(None) == "de"
    assert check_language("ar") == "ar"
    with pytest.raises(LanguageError, match="unknown language 'xx'; allowed: ar, bg, de"):
        check_language("xx")
