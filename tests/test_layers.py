"""Dependencies point one way: every import of the project's own modules follows the layers
of docs/decisions.md ("Layers"), checked by parsing every module (no import needed).

Lowest first: the model, the store of record, search (then its brute-force test oracle,
which no production module imports), the directory (the rest of the core), the front
doors (GraphQL, web pages, HSDS; the carrier plugins beside them), the app assembly, the
benchmark, the command line. A module may import its own layer and the ones below; two
front doors (or plugins) never import each other. Imports under ``if TYPE_CHECKING:`` are
annotations only (nothing is loaded) and are not counted; imports inside functions are.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# (layer, module prefixes), lowest first. The longest matching prefix decides, so
# "directory_core.store" is in "store" and any other directory_core module in "directory".
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    # the earth's radius, distances and times of day, shared by the model and search
    ("measures", ("directory_search.measures",)),
    (
        "model",
        tuple(
            f"directory_core.{name}"
            for name in (
                "model",
                "geo",
                "gazetteer",
                "geocoding",
                "categories",
                "languages",
                "labels",
                "validation",
                "schedule_text",
                "custom_fields",
                "population",
                "reference",
                "sample",
                "data",
            )
        ),
    ),
    (
        "store",
        (
            "directory_core.store",
            "directory_core.store_connection",
            "directory_core.store_locks",
            "directory_core.file_lock",
            "directory_core.store_records",
            "directory_core.store_rows",
            "directory_core.record_layout",
            "directory_core.store_writes",
            "directory_core.tables",
            "directory_core.history",
            "directory_core.migrations",
            "directory_core.staleness",
        ),
    ),
    ("search", ("directory_search",)),
    # the brute-force ground truth of the conformance suite: tests use it, nothing else
    ("oracle", ("directory_search.brute",)),
    ("directory", ("directory_core",)),
    ("front doors", ("directory_schema", "directory_web", "directory_hsds", "plugins")),
    ("app assembly", ("directory_app",)),
    ("bench", ("directory_bench",)),
    ("cli", ("directory_cli",)),
]
# in this layer each top-level package is on its own: siblings never import each other
INDEPENDENT = "front doors"


@dataclass(frozen=True)
class Violation:
    module: str
    imported: str
    line: int
    why: str

    def __str__(self) -> str:
        return f"{self.module}:{self.line} imports {self.imported}: {self.why}"


def package_roots() -> dict[str, str]:
    """Import name -> folder, read from setup.py's ``ROOTS`` (without running setup.py)."""
    tree = ast.parse((ROOT / "setup.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "ROOTS":
            return ast.literal_eval(node.value)
    raise AssertionError("setup.py has no ROOTS")


def project_modules() -> Iterator[tuple[str, bool, str]]:
    """``(module name, is a package, source)`` of every module of the installed packages
    and of the carrier plugins (``plugins/*/directory_plugin_*.py``, named
    ``plugins.<file>``)."""
    for name, folder in package_roots().items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = [name, *path.relative_to(ROOT / folder).with_suffix("").parts]
            is_package = parts[-1] == "__init__"
            if is_package:
                parts.pop()
            yield ".".join(parts), is_package, path.read_text(encoding="utf-8")
    for path in sorted((ROOT / "plugins").glob("*/directory_plugin_*.py")):
        yield f"plugins.{path.stem}", False, path.read_text(encoding="utf-8")


def layer_of(module: str) -> tuple[int, str, str] | None:
    """``(rank, layer name, matching prefix)`` of ``module``, or ``None`` (not ours)."""
    best = None
    for rank, (layer, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                if best is None or len(prefix) > len(best[2]):
                    best = (rank, layer, prefix)
    return best


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """The import statements under ``node``, leaving out ``if TYPE_CHECKING:`` blocks."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                yield from _imports(other)
            continue
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child
        yield from _imports(child)


def imported_names(module: str, is_package: bool, source: str) -> Iterator[tuple[str, int]]:
    """``(imported module, line)`` for every import of ``source``; ``from x import y``
    gives ``x.y`` (which may be a submodule; ``layer_of`` places either the same)."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    for node in _imports(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
            continue
        if node.level:
            base = package[: len(package) - node.level + 1]
            target = ".".join([*base, *([node.module] if node.module else [])])
        else:
            target = node.module or ""
        for alias in node.names:
            yield f"{target}.{alias.name}", node.lineno


def violations(modules: Iterable[tuple[str, bool, str]]) -> list[Violation]:
    """Every import that points up the layers, or across two front doors."""
    found = []
    for module, is_package, source in modules:
        own = layer_of(module)
        if own is None:
            raise AssertionError(f"{module} is in no layer: add its package to LAYERS")
        for imported, line in imported_names(module, is_package, source):
            other = layer_of(imported)
            if other is None:
                continue  # not ours (standard library, third-party)
            if other[0] > own[0]:
                why = f"the {own[1]} layer must not depend on the {other[1]} layer above it"
                found.append(Violation(module, imported, line, why))
            elif own[1] == INDEPENDENT == other[1] and own[2] != other[2]:
                why = f"{own[2]} and {other[2]} are front doors: each calls only the core"
                found.append(Violation(module, imported, line, why))
    return found


def test_every_package_has_a_layer():
    for name in package_roots():
        assert layer_of(name) is not None, f"{name} (setup.py ROOTS) is in no layer of LAYERS"


def test_imports_follow_the_layers():
    modules = list(project_modules())
    assert len(modules) > 100  # the walk found the code
    problems = violations(modules)
    assert not problems, "imports against the layers (docs/decisions.md):\n" + "\n".join(
        map(str, problems)
    )


@pytest.mark.parametrize(
    "module, source, imported",
    [
        # the core depends on a front door
        (
            "directory_core.directory",
            "from directory_schema.app import build_schema",
            "directory_schema.app.build_schema",
        ),
        # lazily, inside a function, still counts
        (
            "directory_core.importing",
            "def f():\n    from directory_web import web_routes\n",
            "directory_web.web_routes",
        ),
        # a front door uses another
        ("directory_web.views", "import directory_schema.types", "directory_schema.types"),
        (
            "directory_hsds.app",
            "from directory_web.forms import Places",
            "directory_web.forms.Places",
        ),
        # a front door uses the assembly above it
        (
            "directory_schema.http",
            "from directory_app.assembly import create_app",
            "directory_app.assembly.create_app",
        ),
        # the store uses search, the model uses the store
        (
            "directory_core.store",
            "from directory_search.base import SearchQuery",
            "directory_search.base.SearchQuery",
        ),
        ("directory_core.model", "from .store import Store", "directory_core.store.Store"),
        # a backend uses the test oracle
        (
            "directory_search.embedded",
            "from .brute import facet_counts",
            "directory_search.brute.facet_counts",
        ),
        # search uses the directory
        (
            "directory_search.embedded",
            "from directory_core.directory import Directory",
            "directory_core.directory.Directory",
        ),
        # a relative import that climbs out of a subpackage
        (
            "directory_core.migrations.env",
            "from ..directory import Directory",
            "directory_core.directory.Directory",
        ),
        # the app assembly uses the CLI
        ("directory_app.assembly", "from directory_cli.main import cli", "directory_cli.main.cli"),
        # a plugin uses a front door
        (
            "plugins.directory_plugin_x",
            "from directory_schema.types import Offer",
            "directory_schema.types.Offer",
        ),
    ],
)
def test_a_planted_violation_is_found(module, source, imported):
    [problem] = violations([(module, False, source)])
    assert (problem.module, problem.imported) == (module, imported)


@pytest.mark.parametrize(
    "module, source",
    [
        ("directory_core.directory", "from directory_search.base import SearchQuery"),
        ("directory_core.directory", "from .store import Store"),
        ("directory_web.views", "from directory_core.directory import Directory"),
        ("directory_app.assembly", "from directory_web import web_routes"),
        ("directory_cli.main", "from directory_bench import run_bench"),
        (
            "directory_search.backends",
            "if TYPE_CHECKING:\n    from directory_core.instance import Instance\n",
        ),
        ("directory_schema.app", "from .context import Context\nimport json"),
    ],
)
def test_imports_down_or_within_a_layer_are_fine(module, source):
    assert violations([(module, False, source)]) == []
