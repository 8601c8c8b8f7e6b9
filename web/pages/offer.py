"""An offer's own page at a stable URL, ``/offer/{id}``: everything the directory knows
of it, including the carrier's custom fields by their labels."""

from __future__ import annotations

import uuid

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..app import Site
from ..i18n import pick_language
from ..views import offer_view


def routes(site: Site) -> list[Route]:
    """``/offer/{offer_id}``."""

    async def offer_page(request: Request) -> Response:
        lang = pick_language(request)
        offer_id = request.path_params["offer_id"]
        try:
            uuid.UUID(offer_id)
        except ValueError:
            offer = None
        else:
            offer = await anyio.to_thread.run_sync(site.directory.get, offer_id)
        if offer is None:
            return site.renderer.page(request, "not_found.html", lang, status_code=404)
        view = offer_view(site.directory, offer, lang)
        return site.renderer.page(
            request, "offer.html", lang, offer=view, archived=offer.status != "active"
        )

    return [Route("/offer/{offer_id}", offer_page, methods=["GET"], name="offer")]
