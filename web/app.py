"""The routes of the web pages, for ``directory_app.assembly.create_app`` to mount at ``/``.

Each page is one module in ``pages/`` with a ``routes(site)`` function; ``Site`` holds
what they share (the directory, the renderer, the place resolver). Static files: the
stylesheet and script of ``web/static`` at ``/static``, Leaflet from the installed
``xstatic-leaflet`` package at ``/static/leaflet`` (no CDN).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any

import xstatic.pkg.leaflet
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from directory_core.directory import Directory

from .forms import Places
from .rendering import MapSettings, Renderer


@dataclass
class Site:
    """What every page needs: the directory, the renderer and the place resolver."""

    directory: Directory
    renderer: Renderer
    places: Places
    cache: dict[str, Any] = field(default_factory=dict)  # small caches of the pages


def make_site(directory: Directory) -> Site:
    """The ``Site`` of ``directory`` with the map settings of its instance."""
    web = directory.instance.web
    renderer = Renderer(directory, MapSettings(web.tile_url, web.tile_attribution))
    return Site(directory, renderer, Places(directory))


def web_routes(directory: Directory) -> list[BaseRoute]:
    """The pages and their static files, as Starlette routes."""
    from .pages import carriers, gaps, handout, offer, search, suggest

    site = make_site(directory)
    static = str(files("directory_web").joinpath("static"))
    return [
        *search.routes(site),
        *offer.routes(site),
        *handout.routes(site),
        *suggest.routes(site),
        *gaps.routes(site),
        *carriers.routes(site),
        Mount("/static/leaflet", StaticFiles(directory=xstatic.pkg.leaflet.BASE_DIR)),
        Mount("/static", StaticFiles(directory=static), name="static"),
    ]
