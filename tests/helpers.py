"""Small builders shared by tests (fixtures live in conftest.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from directory_core.directory import Directory, open_directory
from directory_core.instance import parse_instance

DORTMUND_DISTRICTS = [
    {"key": "hoerde", "name": "Hörde", "lat": 51.483333, "lon": 7.5},
    {"key": "innenstadt-west", "name": "Innenstadt-West", "lat": 51.513889, "lon": 7.465278},
    {"key": "hombruch", "name": "Hombruch", "lat": 51.475833, "lon": 7.439444},
    {"key": "brackel", "name": "Brackel", "lat": 51.516667, "lon": 7.566667},
]


def instance_data(tmp_path: Path, **sections: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "instance": {"name": "Testinstanz", "key": "test", "city": "Dortmund"},
        "store": {"url": f"sqlite:///{tmp_path / 'store.sqlite'}"},
        "districts": DORTMUND_DISTRICTS,
        "carriers": [
            {"key": "awo", "name": "AWO"},
            {"key": "diakonie", "name": "Diakonie"},
            {"key": "stadt-dortmund", "name": "Stadt Dortmund"},
        ],
    }
    data.update(sections)
    return data


def make_directory(tmp_path: Path, extra_plugins: Any = (), **sections: Any) -> Directory:
    """A real directory (SQLite store and embedded index in ``tmp_path``)."""
    instance = parse_instance(instance_data(tmp_path, **sections))
    return open_directory(instance, extra_plugins=extra_plugins)
