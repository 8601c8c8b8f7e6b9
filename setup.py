"""Package list for setuptools, found rather than written by hand.

The folders ``schema/`` and ``search/`` are installed under other import names
(``directory_schema``, ``directory_search``: see docs/decisions.md), which setuptools'
own discovery cannot express, so this file discovers each root's subpackages and maps
them. Everything else about the project lives in pyproject.toml. A new subpackage (or a
new front door added to ``ROOTS``) is in the wheel without editing a list;
tests/test_packaging.py builds the wheel and imports every module from it.
"""

from setuptools import find_namespace_packages, setup

# import name -> folder in the repository
ROOTS = {
    "directory_core": "directory_core",
    "directory_schema": "schema",
    "directory_search": "search",
    "directory_hsds": "hsds",
    "directory_web": "web",
    "directory_app": "app",
    "directory_cli": "cli",
    "directory_bench": "bench",
}


def _packages() -> list[str]:
    found = []
    for name, folder in ROOTS.items():
        found.append(name)
        subpackages = find_namespace_packages(folder, exclude=["*__pycache__*"])
        found.extend(f"{name}.{sub}" for sub in subpackages)
    return found


setup(packages=_packages(), package_dir=ROOTS)
