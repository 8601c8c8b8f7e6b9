"""Rendering pages: one Jinja environment per page language, and the page response.

Templates live in ``web/templates`` (one per page, ``partials/`` one per component);
every text in them goes through ``_()`` (the page catalogue, ``i18n.py``) and every label
of a key through the label helpers put into the context here (``directory_core.labels``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import jinja2
from babel.lists import format_list
from starlette.requests import Request
from starlette.responses import HTMLResponse

from directory_core import labels
from directory_core.directory import Directory

from .i18n import COOKIE, direction, page_translations

# Only the origin itself, plus the tile server for the map's images (set per instance).
CSP = (
    "default-src 'self'; img-src 'self' data: {tiles}; style-src 'self'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'"
)


@dataclass(frozen=True)
class MapSettings:
    """The map's tile server: an instance setting (``[web]`` in the instance file)."""

    tile_url: str
    attribution: str

    @property
    def tile_origin(self) -> str:
        """The scheme and host part of the tile URL (for the page's CSP)."""
        scheme, _, rest = self.tile_url.partition("://")
        host = rest.split("/", 1)[0]
        if "{s}" in host:  # OSM-style sub-domains: allow them all
            host = host.replace("{s}", "*")
        return f"{scheme}://{host}"


class Renderer:
    """Renders the templates of ``directory_web`` for one directory."""

    def __init__(self, directory: Directory, map_settings: MapSettings):
        self.directory = directory
        self.map = map_settings
        self._environments: dict[str, jinja2.Environment] = {}

    def environment(self, lang: str) -> jinja2.Environment:
        """The Jinja environment of ``lang`` (built once), with its translations."""
        env = self._environments.get(lang)
        if env is None:
            env = jinja2.Environment(
                loader=jinja2.PackageLoader("directory_web", "templates"),
                autoescape=True,
                extensions=["jinja2.ext.i18n"],
                trim_blocks=True,
                lstrip_blocks=True,
                undefined=jinja2.StrictUndefined,
            )
            env.install_gettext_translations(page_translations(lang), newstyle=True)
            env.globals.update(self._label_helpers(lang))
            # "Deutsch, Türkisch und Polnisch": lists as the language writes them
            env.filters["listing"] = lambda items: format_list(list(items), locale=lang)
            self._environments[lang] = env
        return env

    @staticmethod
    def _label_helpers(lang: str) -> dict[str, Any]:
        return {
            "kind_label": lambda kind: labels.kind_label(kind, lang),
            "category_label": lambda category: labels.category_label(category, lang),
            "weekday_label": lambda day: labels.weekday_label(day, lang),
            "channel_label": lambda channel: labels.channel_label(channel, lang),
            "access_label": lambda flag: labels.accessibility_label(flag, lang),
            "language_name": lambda code: labels.language_name(code, lang),
        }

    def page(
        self,
        request: Request,
        template: str,
        lang: str,
        *,
        status_code: int = 200,
        private: bool = False,
        **context: Any,
    ) -> HTMLResponse:
        """The HTML response of ``template``. ``private``: the page shows what the
        counsellor typed about the client (an address, free text), so no cache may keep
        it. A ``lang`` query parameter is remembered in a cookie."""
        html = (
            self.environment(lang)
            .get_template(template)
            .render(
                request=request,
                lang=lang,
                dir=direction(lang),
                languages=labels.LANGUAGES,
                instance=self.directory.instance,
                switch_url=lambda code: _with_lang(request, code),
                url=lambda path, **params: _url(path, lang, params),
                map=self.map,
                **context,
            )
        )
        response = HTMLResponse(html, status_code=status_code)
        response.headers["Content-Security-Policy"] = CSP.format(tiles=self.map.tile_origin)
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Content-Type-Options"] = "nosniff"
        if private:
            response.headers["Cache-Control"] = "no-store"
        wanted = request.query_params.get("lang")
        if wanted in labels.LANGUAGES and template != "handout.html":
            response.set_cookie(COOKIE, wanted, max_age=365 * 24 * 3600, samesite="lax")
        return response


def _with_lang(request: Request, lang: str) -> str:
    """This page's URL in another language (a POSTed page switches to its empty form)."""
    if request.method != "GET":
        return _url("/", lang, {})
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    params.append(("lang", lang))
    return f"{request.url.path}?{urlencode(params)}"


def _url(path: str, lang: str, params: dict[str, Any]) -> str:
    """A link within the pages keeping the page language."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        if isinstance(value, list | tuple):
            pairs += [(key, str(v)) for v in value]
        elif value is not None:
            pairs.append((key, str(value)))
    pairs.append(("lang", lang))
    return f"{path}?{urlencode(pairs)}"
