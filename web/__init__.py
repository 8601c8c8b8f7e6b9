"""The web pages: the counsellor's search, offer pages and the printable handout.

Installed as ``directory_web`` (the folder is ``web/``). The pages call only the directory
(``directory_core.directory.Directory`` and the search interface), never the GraphQL
layer; ``directory_app.assembly.create_app`` mounts ``web_routes(directory)`` at ``/``.
How to add a page: docs/web.md.
"""

from .app import web_routes

__all__ = ["web_routes"]
