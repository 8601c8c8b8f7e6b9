"""``directory gaps``: CSV and Markdown tables with the date and source of every figure."""

from __future__ import annotations

import csv
import io

from click.testing import CliRunner
from directory_cli.main import cli

from directory_core.coverage import compute_coverage
from directory_core.coverage_report import COLUMNS, render, rows

from .conftest import HOERDE_44263
from .stores import write_instance_file
from .test_coverage import TODAY, _group


def test_rows_csv_and_markdown_hold_the_same_figures(directory):
    directory.save([_group("Demenzcafé", *HOERDE_44263)])
    coverage = compute_coverage(directory, today=TODAY).select(category="dementia.groups")
    table = rows(coverage)
    assert [tuple(r) for r in table] == [COLUMNS] * 12
    parsed = list(csv.DictReader(io.StringIO(render(coverage, "csv"))))
    hoerde = next(r for r in parsed if r["district"] == "hoerde")
    assert (hoerde["active"], hoerde["residents_65_plus"], hoerde["per_1000_65_plus"]) == (
        "1",
        "13011",
        str(round(1000 / 13011, 3)),
    )
    assert hoerde["residents_60_plus"] == hoerde["per_1000_60_plus"] == ""  # unknown: empty
    assert hoerde["derived_figures"] == "age_65_plus"
    markdown = render(coverage, "md")
    assert "Offers as of: now (reference date 2026-11-26)" in markdown
    assert "Residents Hörde: Wikipedia (de), article 'Stadtbezirk Hörde'" in markdown
    assert "age_65_plus derived: share_65_plus_percent × total" in markdown
    assert "| Hörde | Demenzgruppen und Demenzcafés | 1 | 0 | 1 | – | 13011 |" in markdown


def test_gaps_command_refuses_unknown_keys_and_future_dates(tmp_path):
    path = write_instance_file(
        tmp_path / "d.toml", f"sqlite:///{tmp_path / 'd.sqlite'}", {"backend": "embedded"}, ""
    )
    runner = CliRunner()
    assert runner.invoke(cli, ["--instance", str(path), "init"]).exit_code == 0
    for args, message in [
        (["--category", "demenz"], "Invalid value for --category: unknown category 'demenz'"),
        (["--district", "nord"], "Invalid value for --district: unknown district 'nord'"),
        (["--as-of", "2999-01-01"], "Invalid value for --as-of: must not be in the future"),
        (["--format", "xlsx"], "Invalid value for '--format'"),
    ]:
        result = runner.invoke(cli, ["--instance", str(path), "gaps", *args])
        assert result.exit_code == 2 and message in result.output, result.output
    result = runner.invoke(cli, ["--instance", str(path), "gaps", "--format", "csv"])
    assert result.exit_code == 0
    assert result.output.splitlines()[0] == ",".join(COLUMNS)
