"""The handout ("Merkblatt"): the offers a counsellor ticked, printed for the client.

``/handout?offer=ID&offer=ID&lang=tr&office=ID``: offer ids, the client's language and
the office that made it: nothing about the client. Labels are in the chosen language,
offer texts as the carrier wrote them (German). Each offer gets a QR code to its own page
(segno, inline SVG: no image requests). The print section of the stylesheet makes an A4
page with at least 14 pt body text.
"""

from __future__ import annotations

import uuid
from datetime import date

import anyio.to_thread
import segno
from babel.dates import format_date
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..app import Site
from ..i18n import page_translations, pick_language
from ..views import offer_view

MAX_OFFERS = 20


def qr_svg(url: str, label: str) -> Markup:
    """A QR code of ``url`` as inline SVG, named for screen readers by ``label``."""
    code = segno.make(url, error="m")
    svg = code.svg_inline(scale=3, svgclass="qr", lineclass=None, border=2)
    # role and name: the code is an image whose meaning is the link it holds
    return Markup(svg.replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" ', 1))


def routes(site: Site) -> list[Route]:
    """``/handout``."""

    def build(request: Request, lang: str, ids: list[str], office_id: str) -> dict:
        directory = site.directory
        loaded = directory.get_many(ids + ([office_id] if office_id else []))
        base = str(request.base_url).rstrip("/")
        qr_label = page_translations(lang).gettext("QR code: link to this offer's page")
        blocks = []
        for offer_id in ids:
            offer = loaded.get(offer_id)
            if offer is None:
                continue
            view = offer_view(directory, offer, lang)
            blocks.append((view, qr_svg(f"{base}/offer/{offer_id}", qr_label)))
        office = loaded.get(office_id) if office_id else None
        return {
            "blocks": blocks,
            "office": offer_view(directory, office, lang) if office else None,
            "made_on": format_date(date.today(), format="long", locale=lang),
        }

    async def handout(request: Request) -> Response:
        lang = pick_language(request)
        ids = []
        for value in request.query_params.getlist("offer")[:MAX_OFFERS]:
            try:
                ids.append(str(uuid.UUID(value)))
            except ValueError:
                continue
        ids = list(dict.fromkeys(ids))
        office_id = request.query_params.get("office") or ""
        try:
            office_id = str(uuid.UUID(office_id)) if office_id else ""
        except ValueError:
            office_id = ""
        context = await anyio.to_thread.run_sync(build, request, lang, ids, office_id)
        status = 200 if context["blocks"] else 400
        return site.renderer.page(request, "handout.html", lang, status_code=status, **context)

    return [Route("/handout", handout, methods=["GET"])]
