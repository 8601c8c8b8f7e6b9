"""Page languages: the message catalogue of the pages and one Jinja environment per language.

Texts of the pages have English message ids (``_("Search")``) translated by
``web/locales/<lang>/LC_MESSAGES/messages.po``; labels of the directory's keys (kinds,
categories, weekdays, filters) come from ``directory_core.labels``. The ``.po`` files are
compiled in memory at first use (``directory_core.labels.compile_po``): no build step.

The page language is taken from the ``lang`` query parameter, else the ``lang`` cookie
(set when the counsellor switches), else German.
"""

from __future__ import annotations

import gettext
from functools import cache
from importlib.resources import files
from pathlib import Path

from starlette.requests import Request

from directory_core.labels import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    RIGHT_TO_LEFT,
    compile_po,
)

LOCALES = Path(str(files("directory_web").joinpath("locales")))
COOKIE = "lang"


@cache
def page_translations(lang: str) -> gettext.GNUTranslations | gettext.NullTranslations:
    """The ``messages`` catalogue of ``lang`` (English: the message ids themselves)."""
    return compile_po(LOCALES / lang / "LC_MESSAGES" / "messages.po", lang)


def N_(message: str) -> str:
    """Mark a message id for the catalogue where it is defined; translated when shown."""
    return message


def pick_language(request: Request, wanted: str | None = None) -> str:
    """The page language for ``request``: ``wanted`` (e.g. a form field), the ``lang``
    parameter, the cookie, else German. Unknown codes are ignored, not errors."""
    for candidate in (wanted, request.query_params.get("lang"), request.cookies.get(COOKIE)):
        if candidate in LANGUAGES:
            return candidate
    return DEFAULT_LANGUAGE


def direction(lang: str) -> str:
    """``rtl`` for right-to-left scripts (Arabic), else ``ltr``."""
    return "rtl" if lang in RIGHT_TO_LEFT else "ltr"
