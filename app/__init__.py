"""The app assembly: one ASGI app from the front doors (``assembly.py``), served by uvicorn
(``serving.py``).

Installed as ``directory_app`` (the folder is ``app/``). It sits above the front doors
(GraphQL, web pages, HSDS): it may import them, they never import it or each other
(docs/decisions.md, "Layers"). The uvicorn factory is
``directory_app.assembly:app_from_environment``.
"""

from .assembly import app_from_environment, create_app

__all__ = ["app_from_environment", "create_app"]
