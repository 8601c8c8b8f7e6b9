"""The documentation says what the code does: hooks, the plugin guide, the README."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from directory_core import hookspecs

ROOT = Path(__file__).parent.parent
GUIDE = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
HOOKS = {
    name: value
    for name, value in inspect.getmembers(hookspecs, inspect.isfunction)
    if hasattr(value, "directory_spec")
}


@pytest.mark.parametrize("name", sorted(HOOKS))
def test_every_hook_is_documented_with_its_exact_signature(name):
    arguments = ", ".join(inspect.signature(HOOKS[name]).parameters)
    assert f"### {name}({arguments})" in GUIDE


@pytest.mark.parametrize("name", sorted(HOOKS))
def test_every_hook_has_a_docstring(name):
    assert (HOOKS[name].__doc__ or "").strip()


def test_no_documented_hook_is_missing_from_the_code():
    documented = set(re.findall(r"^### (\w+)\(", GUIDE, re.MULTILINE))
    assert documented == set(HOOKS)
