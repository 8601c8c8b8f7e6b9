"""Builders shared by the HSDS tests: a demo directory and the ASGI app over it."""

from __future__ import annotations

from pathlib import Path

from directory_app.assembly import create_app

from directory_core.demo import load_demo
from directory_core.directory import Directory, open_directory

from .conftest import dortmund_instance_at


def demo_directory(folder: Path, samples: int = 200) -> Directory:
    """A Dortmund directory with the demo data (public offices and ``samples`` invented
    offers)."""
    directory = open_directory(dortmund_instance_at(folder / "dortmund.sqlite"))
    load_demo(directory, samples)
    return directory


def app_of(directory: Directory):
    """The one ASGI app (GraphQL and HSDS) over ``directory``, without background sync."""
    return create_app(directory, sync_interval=None, offer_cache_size=0)
