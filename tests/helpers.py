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


def install_dist(
    site: Path,
    dist: str,
    version: str,
    entry_points: dict[str, str],
    module: str = "",
    source: str = "from directory_core import hookimpl\n",
) -> None:
    """A distribution as pip leaves it, without pip: ``<name>-<version>.dist-info`` with
    METADATA and entry_points.txt (group ``directory.plugins``) and a module ``module``
    holding ``source``, in ``site`` (put it on sys.path: ``monkeypatch.syspath_prepend``)."""
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n", encoding="utf-8"
    )
    lines = "".join(f"{name} = {target}\n" for name, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[directory.plugins]\n{lines}", encoding="utf-8")
    if module:
        (site / f"{module}.py").write_text(source, encoding="utf-8")
