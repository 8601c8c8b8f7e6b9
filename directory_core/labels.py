"""Labels of the directory's keys in the eleven page languages: the one place both the web
pages (``directory_web``) and the GraphQL API (``lang`` arguments) get them from.

The directory's own labels are German (``model.KIND_LABELS``, the category labels of the
instance); they are the message ids of the gettext catalogue
``directory_core/locales/<lang>/LC_MESSAGES/labels.po``. A label without a translation
(e.g. a category a plugin added) stays German. Language names come from the CLDR data
that Babel ships, so every language code gets a name in every page language; so do weekdays.

The ``.po`` files are the only source: they are compiled in memory when first used
(``compile_po``), so a fresh clone needs no build step.
"""

from __future__ import annotations

import gettext
import io
from functools import cache
from importlib.resources import files
from pathlib import Path

from babel import Locale
from babel.dates import get_day_names
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from .model import KIND_LABELS, WEEKDAY_LABELS, WEEKDAYS, Category, ScheduleRule

DEFAULT_LANGUAGE = "de"

# The page languages: German and the ten the Seniorenbüros' information film is subtitled
# in, which are the languages of Dortmund's and Bochum's largest groups of older migrants
# (see docs/web.md). Each name is written in its own language, for the language switch.
LANGUAGES: dict[str, str] = {
    "de": "Deutsch",
    "en": "English",
    "tr": "Türkçe",
    "ar": "العربية",
    "ru": "Русский",
    "uk": "Українська",
    "pl": "Polski",
    "ro": "Română",
    "bg": "Български",
    "el": "Ελληνικά",
    "it": "Italiano",
}
RIGHT_TO_LEFT = frozenset({"ar"})

# German labels of keys the model has no label for (message ids like the rest).
CHANNEL_LABELS: dict[str, str] = {
    "in_person": "vor Ort",
    "phone": "telefonisch",
    "online": "online",
    "home_visit": "Hausbesuch",
}
ACCESSIBILITY_LABELS: dict[str, str] = {
    "wheelchair": "rollstuhlgerecht",
    "hearing_loop": "Höranlage (Induktionsschleife)",
    "easy_language": "Leichte Sprache",
}

LOCALES = Path(str(files("directory_core").joinpath("locales")))


class LanguageError(ValueError):
    """A language code that is not one of ``LANGUAGES``."""


def check_language(lang: str | None) -> str:
    """``lang`` if it is a page language, the default for ``None``; else ``LanguageError``
    naming the allowed codes."""
    if lang is None:
        return DEFAULT_LANGUAGE
    if lang not in LANGUAGES:
        raise LanguageError(f"unknown language {lang!r}; allowed: {', '.join(sorted(LANGUAGES))}")
    return lang


def compile_po(path: Path, locale: str) -> gettext.GNUTranslations | gettext.NullTranslations:
    """The translations of one ``.po`` file, compiled in memory (no ``.mo`` on disk).

    Fuzzy entries are left out, as ``msgfmt`` does. A missing file gives no translations.
    """
    if not path.is_file():
        return gettext.NullTranslations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


@cache
def label_translations(lang: str) -> gettext.GNUTranslations | gettext.NullTranslations:
    """The ``labels`` catalogue of a page language (German: the ids themselves)."""
    check_language(lang)
    return compile_po(LOCALES / lang / "LC_MESSAGES" / "labels.po", lang)


def translate(german: str, lang: str) -> str:
    """A German label in ``lang`` (unchanged if the catalogue lacks it)."""
    if lang == DEFAULT_LANGUAGE or not german:
        return german
    return label_translations(lang).gettext(german)


def kind_label(kind: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """The label of an offer kind ("dementia_group" -> "Demenzgruppe" in German)."""
    return translate(KIND_LABELS.get(kind, kind), lang)


def category_label(category: Category, lang: str = DEFAULT_LANGUAGE) -> str:
    """The label of a category; an instance's own wording is the message id."""
    return translate(category.label, lang)


def weekday_label(weekday: str | int, lang: str = DEFAULT_LANGUAGE) -> str:
    """A weekday ("mon" or 0 = Monday) spelled out, from CLDR (Babel's data: "Dienstag",
    "Salı", "الثلاثاء"); German is the model's own ``WEEKDAY_LABELS``."""
    index = weekday if isinstance(weekday, int) else WEEKDAYS.index(weekday)
    if lang == DEFAULT_LANGUAGE:
        return WEEKDAY_LABELS[index]
    return str(get_day_names("wide", context="format", locale=lang)[index])


def channel_label(channel: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """How an offer is reached ("home_visit" -> "Hausbesuch")."""
    return translate(CHANNEL_LABELS.get(channel, channel), lang)


def accessibility_label(flag: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """An accessibility feature ("wheelchair" -> "rollstuhlgerecht")."""
    return translate(ACCESSIBILITY_LABELS.get(flag, flag), lang)


def language_name(code: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """The name of the language ``code`` in the page language ``lang`` (CLDR via Babel);
    the code itself if CLDR has no name for it."""
    return Locale.parse(lang).languages.get(code, code)


def describe_rule(rule: ScheduleRule, lang: str = DEFAULT_LANGUAGE) -> str:
    """One schedule rule in words, e.g. "jeden Dienstag, 14:00–16:00 Uhr" or, in English,
    "every Tuesday, 14:00–16:00"; ``ScheduleRule.describe`` is the German original."""
    if lang == DEFAULT_LANGUAGE:
        return rule.describe()
    day = weekday_label(rule.weekday, lang)
    if rule.frequency == "monthly":
        last = translate("letzten", lang)
        nth = ", ".join(last if w == -1 else f"{w}." for w in rule.weeks_of_month)
        when = translate("jeden {nth} {day} im Monat", lang).format(nth=nth, day=day)
    elif rule.interval == 1:
        when = translate("jeden {day}", lang).format(day=day)
    else:
        when = translate("alle {interval} Wochen {day}", lang).format(
            interval=rule.interval, day=day
        )
    start, end = rule.start, rule.end
    if lang in RIGHT_TO_LEFT:
        # isolate the times left-to-right, or "09:00–12:00" shows as "12:00–09:00"
        start, end = f"\u2066{start}", f"{end}\u2069"
    return translate("{when}, {start}–{end} Uhr", lang).format(when=when, start=start, end=end)
