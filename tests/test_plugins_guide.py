"""The minimal plugin printed in docs/plugins.md works exactly as printed."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from directory_core.importers.base import SourceError
from directory_core.importing import run_import

from .helpers import make_directory

GUIDE = Path(__file__).parent.parent / "docs" / "plugins.md"


def load_guide_plugin(tmp_path):
    text = GUIDE.read_text(encoding="utf-8")
    code = re.search(r"```python\n# file: directory_example_carrier.py\n(.*?)```", text, re.S)
    assert code, "the guide lost its example plugin"
    path = tmp_path / "directory_example_carrier.py"
    path.write_text(code.group(1), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("directory_example_carrier", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_guide_plugin_imports_and_declares_its_field(tmp_path):
    module = load_guide_plugin(tmp_path)
    directory = make_directory(tmp_path, [("example", module)])
    source = tmp_path / "sprechstunden.csv"
    source.write_text(
        "Nr;Titel;PLZ;Barrierefrei\n"
        "1;Sprechstunde Pflegeberatung Hörde;44263;ja\n"
        "2;;44263;nein\n"
        "3;Sprechstunde Brackel;4431;nein\n",
        encoding="utf-8",
    )
    report = run_import(directory, "awo", "example-sprechstunden", str(source))
    assert report.counts()["created"] == 1
    assert sorted(str(r) for r in report.rejected) == [
        "row 3, field title: column 'Titel' is empty",
        "row 4, field address.postcode: must be five digits, got '4431'",
    ]
    offer = report.created[0]
    assert directory.get(offer.id).extra == {"example": {"step_free": True}}
    assert directory.get(offer.id).location.precision == "postcode"
    directory.close()


def test_guide_plugin_honours_the_encoding_setting(tmp_path):
    module = load_guide_plugin(tmp_path)
    directory = make_directory(
        tmp_path,
        [("example", module)],
        importers={"example-sprechstunden": {"encoding": "cp1252"}},
    )
    source = tmp_path / "sprechstunden.csv"
    source.write_text(
        "Nr;Titel;PLZ;Barrierefrei\n1;Sprechstunde Pflegeberatung Hörde;44263;ja\n",
        encoding="cp1252",
    )
    report = run_import(directory, "awo", "example-sprechstunden", str(source))
    assert report.counts()["created"] == 1, report.rejected
    assert directory.get(report.created[0].id).title == "Sprechstunde Pflegeberatung Hörde"
    directory.close()


def test_a_wrong_encoding_names_the_setting_of_the_importer(tmp_path):
    module = load_guide_plugin(tmp_path)
    directory = make_directory(tmp_path, [("example", module)])
    source = tmp_path / "sprechstunden.csv"
    source.write_text("Nr;Titel;PLZ;Barrierefrei\n1;Hörde;44263;ja\n", encoding="cp1252")
    with pytest.raises(SourceError) as info:
        run_import(directory, "awo", "example-sprechstunden", str(source))
    assert '[importers.example-sprechstunden] encoding = "cp1252"' in str(info.value)
    directory.close()
