"""Suggestions for the where field while typing: districts and postcodes of the city.

POST, not GET: what is typed may be the start of the client's street address, and a POST
body appears in no URL and no access log line.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..app import Site
from ..forms import MAX_TEXT


def routes(site: Site) -> list[Route]:
    """``POST /suggest`` with form field ``q``: ``[{"value", "label"}, ...]``."""

    async def suggest(request: Request) -> Response:
        data = await request.form()
        prefix = str(data.get("q") or "")[:MAX_TEXT]
        response = JSONResponse(site.places.suggestions(prefix))
        response.headers["Cache-Control"] = "no-store"
        return response

    return [Route("/suggest", suggest, methods=["POST"])]
