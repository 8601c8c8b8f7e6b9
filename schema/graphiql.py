"""GraphiQL served by the app itself: the page and its scripts come from this origin.

Strawberry's own GraphiQL page loads React and GraphiQL from a public CDN; behind a
city's proxy, or offline, it stays at "Loading..." forever. The files in
``static/graphiql`` are fetched from npm by ``.ci/graphiql-assets.sh`` (versions in
``static/graphiql/VERSIONS``, licences beside them) and committed; the page below loads
only them, and its start-up code is a file too (the Content-Security-Policy allows no
inline script).
"""

from __future__ import annotations

from pathlib import Path

from starlette.staticfiles import StaticFiles

ASSETS_PATH = "/graphiql-assets"
STATIC_DIR = Path(__file__).parent / "static" / "graphiql"

PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>GraphiQL</title>
<link rel="stylesheet" href="{ASSETS_PATH}/graphiql.min.css">
<link rel="stylesheet" href="{ASSETS_PATH}/graphiql-page.css">
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<script src="{ASSETS_PATH}/react.production.min.js"></script>
<script src="{ASSETS_PATH}/react-dom.production.min.js"></script>
<script src="{ASSETS_PATH}/graphiql.min.js"></script>
<script src="{ASSETS_PATH}/graphiql-start.js"></script>
</body>
</html>
"""


def graphiql_assets() -> StaticFiles:
    """The ASGI app serving GraphiQL's files (mount it at ``ASSETS_PATH``)."""
    return StaticFiles(directory=STATIC_DIR)
