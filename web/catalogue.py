"""Keeping the message catalogues complete: which message ids exist, and updating the
``.po`` files when they change.

Two catalogues:

* ``messages`` (``web/locales``): the texts of the pages, extracted from the templates
  (``_()``, ``ngettext()``) and from ``N_()`` marks in the Python modules;
* ``labels`` (``directory_core/locales``): the German labels of the directory's keys
  (kinds, default categories, channels, accessibility, schedule phrases; weekday and
  language names come from CLDR).

``python -m directory_web.catalogue`` adds new ids to every language's ``.po`` file (and
drops ids no longer used); a translator then fills in the empty ``msgstr`` lines.
``tests/test_web_catalogue.py`` fails while one is empty.
"""

from __future__ import annotations

import sys
from importlib.resources import files
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from directory_core.categories import DEFAULT_CATEGORIES
from directory_core.labels import (
    ACCESSIBILITY_LABELS,
    CHANNEL_LABELS,
    DEFAULT_LANGUAGE,
    LANGUAGES,
)
from directory_core.labels import LOCALES as LABEL_LOCALES
from directory_core.model import KIND_LABELS

from .i18n import LOCALES as PAGE_LOCALES

WEB = Path(str(files("directory_web")))
SOURCE_LANGUAGE = {"messages": "en", "labels": DEFAULT_LANGUAGE}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
METHODS = [
    ("templates/**.html", "jinja2.ext:babel_extract"),
    ("**.py", "python"),
]
# Phrases ``directory_core.labels.describe_rule`` builds schedules in words from.
SCHEDULE_PHRASES = (
    "jeden {day}",
    "jeden {nth} {day} im Monat",
    "alle {interval} Wochen {day}",
    "{when}, {start}–{end} Uhr",
    "letzten",
    "ja",
    "nein",
)


def page_messages() -> Catalog:
    """Every message id of the pages, with where it is used."""
    catalog = Catalog(project="directory_web")
    options = {"extensions": "jinja2.ext.i18n", "trimmed": "true"}
    for filename, lineno, message, comments, _context in extract_from_dir(
        str(WEB), METHODS, {"templates/**.html": options}, KEYWORDS
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments)
    return catalog


def label_messages() -> Catalog:
    """Every German label the ``labels`` catalogue translates."""
    catalog = Catalog(project="directory_core labels")
    ids = [
        *KIND_LABELS.values(),
        *(label for _key, label, _parent in DEFAULT_CATEGORIES),
        *CHANNEL_LABELS.values(),
        *ACCESSIBILITY_LABELS.values(),
        *SCHEDULE_PHRASES,
    ]
    for message in dict.fromkeys(ids):
        catalog.add(message)
    return catalog


def po_path(domain: str, lang: str) -> Path:
    base = PAGE_LOCALES if domain == "messages" else LABEL_LOCALES
    return base / lang / "LC_MESSAGES" / f"{domain}.po"


def languages_of(domain: str) -> list[str]:
    """The languages that need a catalogue (not the language of the message ids)."""
    return [lang for lang in LANGUAGES if lang != SOURCE_LANGUAGE[domain]]


def read_catalogue(domain: str, lang: str) -> Catalog:
    path = po_path(domain, lang)
    if not path.is_file():
        return Catalog(locale=lang, domain=domain)
    with path.open("rb") as handle:
        return read_po(handle, locale=lang, domain=domain)


def update(domain: str) -> list[Path]:
    """Bring every language's ``.po`` file of ``domain`` in line with the ids in use."""
    template = page_messages() if domain == "messages" else label_messages()
    written = []
    for lang in languages_of(domain):
        catalog = read_catalogue(domain, lang)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        path = po_path(domain, lang)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            write_po(handle, catalog, width=100, omit_header=False, no_location=True)
        written.append(path)
    return written


def main() -> None:
    """``python -m directory_web.catalogue``: update both catalogues."""
    for domain in ("messages", "labels"):
        for path in update(domain):
            print(path, file=sys.stderr)


if __name__ == "__main__":
    main()
