"""Reading the instance file's TOML: typed values, errors with their place, and the
keys nothing read. Split from ``instance.py``, which holds the settings and their checks.
"""

from __future__ import annotations

import difflib
import re
from typing import Any


def _slug(text: str) -> str:
    table = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
    return re.sub(r"[^a-z0-9]+", "-", text.lower().translate(table)).strip("-")


def _table_path(where: str) -> str:
    """``districts[3]`` -> ``districts[]``: one path for every entry of an array."""
    return re.sub(r"\[\d+\]", "[]", where)


class _Reader:
    """Pulls typed values out of the parsed TOML and collects errors with their place.

    Every key asked for (``get``, ``require``, ``table``, ``tables``) is recorded with its
    table, so ``check_unknown`` can name the keys of the file that nothing read."""

    def __init__(self, source: str):
        self.source = source
        self.errors: list[str] = []
        self.known: dict[str, set[str]] = {"": set()}  # table path -> keys read in it
        self.free_tables: dict[str, bool] = {}  # table path -> only sub-tables are free

    def fail(self, where: str, message: str) -> None:
        self.errors.append(f"{self.source}: {where}: {message}")

    def declare(self, where: str, key: str) -> None:
        """``key`` is a setting of the table at ``where`` (and that table one of its
        parent's)."""
        path = _table_path(where)
        parts = path.split(".") if path else []
        for i, part in enumerate(parts):
            self.known.setdefault(".".join(parts[:i]), set()).add(part.removesuffix("[]"))
        self.known.setdefault(path, set()).add(key)

    def free(self, where: str, tables_only: bool = False) -> None:
        """The table at ``where`` holds keys of others' choosing (all of them, or with
        ``tables_only`` its sub-tables: ``[plugins.NAME]``)."""
        self.free_tables[_table_path(where)] = tables_only

    def table(self, data: dict, key: str, where: str = "") -> Any:
        """The sub-table ``key`` (empty if absent), declared as a table."""
        path = f"{where}.{key}" if where else key
        self.declare(where, key)
        self.known.setdefault(_table_path(path), set())
        return data.get(key, {})

    def get(self, table: dict, key: str, kind: type | tuple, where: str, default: Any = None):
        self.declare(where, key)
        if key not in table:
            return default
        value = table[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, float)):
            names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            self.fail(f"{where}.{key}", f"must be a {names}, got {value!r}")
            return default
        return value

    def require(self, table: dict, key: str, kind: type | tuple, where: str):
        self.declare(where, key)
        if key not in table:
            self.fail(f"{where}.{key}", "is required")
            return None
        return self.get(table, key, kind, where)

    def check_unknown(self, data: dict[str, Any]) -> None:
        """An error for every key of ``data`` that nothing declared, naming its table
        and the closest known key."""
        self._walk(data, "", "")

    def _walk(self, table: dict[str, Any], path: str, shown: str) -> None:
        known = self.known.get(path, set())
        for key, value in table.items():
            child = f"{path}.{key}" if path else key
            place = f"{shown}.{key}" if shown else key
            if key in known:
                if isinstance(value, dict) and child in self.known:
                    self._walk(value, child, place)
                elif isinstance(value, list) and f"{child}[]" in self.known:
                    for i, item in enumerate(value):
                        if isinstance(item, dict):
                            self._walk(item, f"{child}[]", f"{place}[{i}]")
                continue
            if path in self.free_tables and (not self.free_tables[path] or isinstance(value, dict)):
                continue
            if not path:
                what = "unknown table" if isinstance(value, dict | list) else "unknown key"
            elif path.endswith("[]"):
                what = f"unknown key in [[{path[:-2]}]]"
            else:
                what = f"unknown key in [{path}]"
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(sorted(known))}"
            self.fail(place, f"{what}; {hint}")


def _table_list(r: _Reader, data: dict, key: str, where: str | None = None) -> list[dict]:
    path = where or key
    r.declare(path.rpartition(".")[0], key)
    r.known.setdefault(f"{path}[]", set())
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        r.fail(where or key, "must be an array of tables ([[...]])")
        return []
    return value


def _polygon(r: _Reader, value: Any, where: str) -> list[list[tuple[float, float]]] | None:
    """``polygon = [[[lat, lon], ...], ...]``: rings, the first the outer boundary."""
    try:
        rings = [[(float(p[0]), float(p[1])) for p in ring] for ring in value]
    except (TypeError, ValueError, IndexError):
        r.fail(f"{where}.polygon", "must be a list of rings, each a list of [lat, lon] pairs")
        return None
    if not rings or any(len(ring) < 3 for ring in rings):
        r.fail(f"{where}.polygon", "each ring needs at least three points")
        return None
    return rings


def _unique(r: _Reader, where: str, keys: list[str]) -> None:
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            r.fail(where, f"key {key!r} appears twice")
        seen.add(key)
