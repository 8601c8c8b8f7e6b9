"""run_import: counts, --full, dry runs, rejections, interruptions, run records, hooks."""

from __future__ import annotations

import types

import pytest

from directory_core import hookimpl
from directory_core.importers.base import Importer, ImportRecord, SourceError
from directory_core.importers.csv_importer import CsvImporter
from directory_core.importing import ImporterCrashed, ImportFailed, import_runs, run_import
from directory_core.model import Location, Offer
from directory_core.validation import FieldError

from .import_fixtures import (
    CSV_HEADER,
    CSV_SETTINGS,
    csv_row,
    directories,
    dump,
    recorder,
    write_csv,
)


@pytest.fixture
def make_directory(tmp_path, monkeypatch):
    with directories(tmp_path, monkeypatch) as make:
        yield make


@pytest.fixture
def directory(make_directory):
    return make_directory(importers={"csv": CSV_SETTINGS})


def test_reimport_counts_created_updated_unchanged(directory, tmp_path):
    source = write_csv(tmp_path / "a.csv", [csv_row(i) for i in range(1, 6)])
    first = run_import(directory, "awo", "csv", source)
    assert first.counts() == {
        "created": 5,
        "updated": 0,
        "unchanged": 0,
        "archived": 0,
        "rejected": 0,
    }
    again = run_import(directory, "awo", "csv", source)
    assert again.counts()["unchanged"] == 5 and again.counts()["created"] == 0

    rows = [csv_row(i) for i in range(1, 6)]
    rows[1] = csv_row(2, Angebot="Seniorentreff Zwei (neuer Name)")
    rows.append(csv_row(6))
    changed = run_import(directory, "awo", "csv", write_csv(tmp_path / "b.csv", rows))
    assert changed.counts() == {
        "created": 1,
        "updated": 1,
        "unchanged": 4,
        "archived": 0,
        "rejected": 0,
    }
    offer = changed.updated[0]
    stored = directory.get(offer.id)
    assert stored.title == "Seniorentreff Zwei (neuer Name)"
    assert stored.created_at == first.created[1].created_at  # same offer, updated in place
    assert directory.store.count_offers() == 6


def test_full_import_archives_missing_offers_of_that_carrier_only(directory, tmp_path):
    run_import(
        directory, "awo", "csv", write_csv(tmp_path / "a.csv", [csv_row(i) for i in (1, 2, 3)])
    )
    run_import(
        directory, "diakonie", "csv", write_csv(tmp_path / "d.csv", [csv_row(1), csv_row(9)])
    )
    # a non-full import never archives
    partial = run_import(directory, "awo", "csv", write_csv(tmp_path / "b.csv", [csv_row(1)]))
    assert partial.counts()["archived"] == 0

    report = run_import(directory, "awo", "csv", str(tmp_path / "b.csv"), full=True)
    assert sorted(o.external_id for o in report.archived) == ["2", "3"]
    assert report.counts()["unchanged"] == 1
    assert directory.store.count_offers() == 5  # archived, never deleted
    assert directory.store.count_offers(status="archived") == 2
    diakonie = directory.store.carrier_offer_ids("diakonie", status="active")
    assert sorted(diakonie.values()) == ["1", "9"]

    # an archived offer that comes back is active again
    back = run_import(directory, "awo", "csv", str(tmp_path / "a.csv"))
    assert sorted(o.external_id for o in back.updated) == ["2", "3"]
    assert directory.store.count_offers(status="archived") == 0


def test_full_import_keeps_offers_that_are_in_the_source_but_rejected(directory, tmp_path):
    run_import(directory, "awo", "csv", write_csv(tmp_path / "a.csv", [csv_row(1), csv_row(2)]))
    # offer 2 is still listed but now fails validation: it stays as it was
    rows = [csv_row(1), csv_row(2, Angebot="x" * 301)]
    report = run_import(directory, "awo", "csv", write_csv(tmp_path / "b.csv", rows), full=True)
    assert report.counts()["archived"] == 0 and report.counts()["rejected"] == 1
    assert str(report.rejected[0]) == "row 3, field title: must be at most 300 characters, got 301"
    assert directory.store.count_offers(status="active") == 2


def test_dry_run_writes_nothing(directory, tmp_path):
    run_import(directory, "awo", "csv", write_csv(tmp_path / "a.csv", [csv_row(1), csv_row(2)]))
    before = dump(directory)
    rows = [csv_row(1, Angebot="geändert"), csv_row(3), csv_row(4, PLZ="123")]
    report = run_import(
        directory, "awo", "csv", write_csv(tmp_path / "b.csv", rows), full=True, dry_run=True
    )
    assert report.counts() == {
        "created": 1,
        "updated": 1,
        "unchanged": 0,
        "archived": 1,
        "rejected": 1,
    }
    assert report.run_id is None
    assert dump(directory) == before  # offers, categories, outbox and run records alike


def test_a_rejected_record_does_not_stop_the_others(directory, tmp_path):
    rows = [
        csv_row(1),
        csv_row(2, PLZ="4426"),
        csv_row(3, Kategorien="encounter.meeting; gibt.es.nicht"),
        csv_row(4),
        csv_row(1, Angebot="Doppelt"),
        csv_row(5, Art=""),
        csv_row(6),
    ]
    report = run_import(directory, "awo", "csv", write_csv(tmp_path / "a.csv", rows))
    assert sorted(o.external_id for o in report.created) == ["1", "4", "6"]
    assert [str(r) for r in report.rejected] == [
        "row 3, field postcode: column 'PLZ': must be five digits, got '4426'",
        "row 4, field categories: column 'Kategorien': unknown category 'gibt.es.nicht'",
        "row 6, field external_id: duplicate '1', first used at row 2",
        "row 7, field kind: column 'Art' is empty",
    ]
    assert report.counts()["rejected"] == 4


def test_validation_errors_name_row_and_field(directory, tmp_path):
    settings = {**CSV_SETTINGS, "columns": {**CSV_SETTINGS["columns"], "district": "Bezirk"}}
    directory.instance.importers = {"csv": settings}
    rows = [csv_row(1) + ["Hörde"], csv_row(2) + ["Atlantis"]]
    report = run_import(
        directory, "awo", "csv", write_csv(tmp_path / "a.csv", rows, header=CSV_HEADER + ["Bezirk"])
    )
    assert report.created[0].district == "hoerde" and report.created[0].district_manual
    assert [(r.location, r.field) for r in report.rejected] == [("row 3", "district")]
    assert report.rejected[0].reason.startswith("column 'Bezirk': unknown district 'Atlantis'")


class StoppingImporter(Importer):
    """Yields ``good`` records, then raises what ``stop`` says (Ctrl-C by default)."""

    name = "stopping"
    description = "Yields some offers, then is interrupted"
    formats = ("test",)
    good = 3
    stop: BaseException = KeyboardInterrupt()

    def read(self, source):
        inner = CsvImporter(self.carrier, CSV_SETTINGS, self.directory)
        for number, record in enumerate(inner.read(source)):
            if number == self.good:
                raise self.stop
            yield record


def stopping_plugin():
    @hookimpl
    def register_importers(register):
        register(StoppingImporter)

    return "stopping", types.SimpleNamespace(register_importers=register_importers)


def test_an_interrupted_import_leaves_the_store_as_before(make_directory, tmp_path):
    directory = make_directory(importers={"csv": CSV_SETTINGS}, plugins=[stopping_plugin()])
    run_import(directory, "awo", "csv", write_csv(tmp_path / "a.csv", [csv_row(1), csv_row(2)]))
    before = dump(directory)
    rows = [csv_row(1, Angebot="neu"), csv_row(3), csv_row(4), csv_row(5), csv_row(6)]
    source = write_csv(tmp_path / "b.csv", rows)
    with pytest.raises(KeyboardInterrupt):
        run_import(directory, "awo", "stopping", source, full=True)
    assert dump(directory) == before


@pytest.mark.parametrize("failure", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_a_failure_while_writing_rolls_the_whole_run_back(
    directory, tmp_path, monkeypatch, failure
):
    run_import(directory, "awo", "csv", write_csv(tmp_path / "a.csv", [csv_row(1), csv_row(2)]))
    before = dump(directory)
    store = directory.store
    real_write = store.write_offers

    def write_then_fail(conn, offers, **options):
        real_write(conn, offers[:2], **options)  # half of the run is in the transaction ...
        raise failure  # ... when the disk fills up or the user presses Ctrl-C

    monkeypatch.setattr(store, "write_offers", write_then_fail)
    rows = [csv_row(1, Angebot="neu"), csv_row(3), csv_row(4), csv_row(5)]
    with pytest.raises(type(failure)):
        run_import(directory, "awo", "csv", write_csv(tmp_path / "b.csv", rows), full=True)
    assert dump(directory) == before


def test_each_run_is_recorded_with_its_counts(directory, tmp_path):
    source = write_csv(tmp_path / "a.csv", [csv_row(1), csv_row(2, PLZ="1")])
    first = run_import(directory, "awo", "csv", source, user="tester")
    second = run_import(directory, "awo", "csv", source, full=True, user="tester")
    run_import(directory, "awo", "csv", source, dry_run=True)  # not recorded
    runs = import_runs(directory)
    assert [r["id"] for r in runs] == [second.run_id, first.run_id]
    newest, oldest = runs
    assert (oldest["created"], oldest["unchanged"], oldest["rejected"]) == (1, 0, 1)
    assert (newest["created"], newest["unchanged"], newest["rejected"]) == (0, 1, 1)
    assert newest["full"] and not oldest["full"]
    assert newest["carrier"] == "awo" and newest["importer"] == "csv"
    assert newest["source"] == source and newest["user"] == "tester"
    assert newest["records"] == 2
    assert newest["rejections"] == [
        "row 3, field postcode: column 'PLZ': must be five digits, got '1'"
    ]


def test_offer_changed_is_called_after_the_commit(make_directory, tmp_path):
    name, plugin = recorder()
    directory = make_directory(importers={"csv": CSV_SETTINGS}, plugins=[(name, plugin)])
    run_import(directory, "awo", "csv", write_csv(tmp_path / "a.csv", [csv_row(1), csv_row(2)]))
    assert plugin.calls == [("created", ["1", "2"], True)]
    plugin.calls.clear()
    rows = [csv_row(1, Angebot="neu"), csv_row(3)]
    run_import(directory, "awo", "csv", write_csv(tmp_path / "b.csv", rows), full=True)
    assert plugin.calls == [
        ("created", ["3"], True),
        ("updated", ["1"], True),
        ("archived", ["2"], True),
    ]
    plugin.calls.clear()
    run_import(directory, "awo", "csv", str(tmp_path / "b.csv"), full=True)  # nothing changed
    run_import(directory, "awo", "csv", str(tmp_path / "a.csv"), dry_run=True)
    assert plugin.calls == []


def test_a_failing_offer_changed_hook_does_not_undo_the_import(make_directory, tmp_path, caplog):
    @hookimpl
    def offer_changed(offers, change):
        raise RuntimeError("mail server down")

    plugin = types.SimpleNamespace(offer_changed=offer_changed)
    directory = make_directory(importers={"csv": CSV_SETTINGS}, plugins=[("notify", plugin)])
    report = run_import(directory, "awo", "csv", write_csv(tmp_path / "a.csv", [csv_row(1)]))
    assert report.counts()["created"] == 1 and directory.store.count_offers() == 1
    assert "notify" in caplog.text and "mail server down" in caplog.text


def test_plugin_validation_rejects_with_row_and_field(make_directory, tmp_path):
    @hookimpl
    def validate_offer(offer):
        if "verboten" in offer.title:
            return [FieldError("title", "contains a forbidden word")]
        return None

    plugin = types.SimpleNamespace(validate_offer=validate_offer)
    directory = make_directory(importers={"csv": CSV_SETTINGS}, plugins=[("rules", plugin)])
    rows = [csv_row(1), csv_row(2, Angebot="ganz verboten")]
    report = run_import(directory, "awo", "csv", write_csv(tmp_path / "a.csv", rows))
    assert [str(r) for r in report.rejected] == ["row 3, field title: contains a forbidden word"]


# -- bad input ---------------------------------------------------------------------------


def test_wrong_encoding_is_a_source_error_naming_the_line(directory, tmp_path):
    header = [c.replace("ß", "ss") for c in CSV_HEADER]  # line 1 is plain ASCII
    rows = [
        csv_row(1, **{"Straße": "Hauptstrasse 1"}),
        csv_row(2, Angebot="Begegnungsstätte Hörde"),
    ]
    source = write_csv(tmp_path / "a.csv", rows, header=header, encoding="cp1252")
    with pytest.raises(SourceError, match=r"line 3 is not valid utf-8 .*encoding = \"cp1252\""):
        run_import(directory, "awo", "csv", source)
    assert directory.store.count_offers() == 0 and import_runs(directory) == []


def test_missing_columns_reject_the_whole_file(directory, tmp_path):
    header = ["Nr", "Titel", "Art", "Kategorien", "Straße", "Postleitzahl", "Ort", "Zeiten"]
    source = write_csv(tmp_path / "a.csv", [csv_row(1)], header=header)
    with pytest.raises(SourceError) as caught:
        run_import(directory, "awo", "csv", source)
    message = str(caught.value)
    assert "missing column(s) 'Angebot' (title), 'PLZ' (postcode)" in message
    assert "the header has: 'Nr', 'Titel', 'Art'" in message
    assert directory.store.count_offers() == 0


def test_unknown_carrier_or_importer_fails_before_reading(directory, tmp_path):
    source = write_csv(tmp_path / "a.csv", [csv_row(1)])
    with pytest.raises(ImportFailed, match="unknown carrier 'nobody'.*awo"):
        run_import(directory, "nobody", "csv", source)
    available = "csv, hsds, json, xlsx"
    with pytest.raises(ImportFailed, match=f"unknown importer 'xml'; available: {available}"):
        run_import(directory, "awo", "xml", source)


# -- traps (issue 12) --------------------------------------------------------------------


def test_full_import_keeps_offers_whose_row_has_a_mapping_error(directory, tmp_path):
    run_import(directory, "awo", "csv", write_csv(tmp_path / "a.csv", [csv_row(1), csv_row(2)]))
    # a typo in one cell (an unknown kind) is rejected while the row is read, before the
    # offer exists: its id still protects offer 2 from being archived
    rows = [csv_row(1), csv_row(2, Art="Tanzkurs")]
    report = run_import(directory, "awo", "csv", write_csv(tmp_path / "b.csv", rows), full=True)
    assert report.counts()["rejected"] == 1 and report.counts()["archived"] == 0
    assert directory.store.count_offers(status="active") == 2


def test_full_import_archives_nothing_while_a_rejected_row_has_no_id(directory, tmp_path):
    run_import(directory, "awo", "csv", write_csv(tmp_path / "a.csv", [csv_row(1), csv_row(2)]))
    # row 3 might be offer 2 with its id cell emptied by mistake: archive nothing
    rows = [csv_row(1), csv_row(2, Nr="")]
    report = run_import(directory, "awo", "csv", write_csv(tmp_path / "b.csv", rows), full=True)
    assert report.counts()["archived"] == 0
    assert any("no offer was archived" in note for note in report.notes)
    assert directory.store.count_offers(status="active") == 2
    complete = run_import(
        directory, "awo", "csv", write_csv(tmp_path / "c.csv", [csv_row(1)]), full=True
    )
    assert complete.counts()["archived"] == 1 and complete.notes == []


class ClockImporter(Importer):
    """Notes the time when its first record is read."""

    name = "clock"
    description = "One offer, and the time it was read"
    formats = ("txt",)
    read_at = None

    def read(self, source):
        from directory_core.store import utcnow

        type(self).read_at = utcnow()
        yield ImportRecord(
            "line 1",
            Offer(
                title="Treff", kind="meeting_place", external_id="1", location=Location(51.48, 7.5)
            ),
        )


def one_importer_plugin(name, importer):
    @hookimpl
    def register_importers(register):
        register(importer)

    return name, types.SimpleNamespace(register_importers=register_importers)


def test_started_at_is_taken_at_the_start(make_directory):
    directory = make_directory(plugins=[one_importer_plugin("clocks", ClockImporter)])
    run_import(directory, "awo", "clock", "anything")
    started = import_runs(directory)[0]["started_at"]
    assert started.replace(tzinfo=None) <= ClockImporter.read_at.replace(tzinfo=None)


class CrashingImporter(Importer):
    """Reads one good row, then trips over a misspelt column name."""

    name = "crashing"
    description = "A bug in a plugin"
    formats = ("csv",)

    def read(self, source):
        yield ImportRecord(
            "row 2",
            Offer(
                title="Treff", kind="meeting_place", external_id="9", location=Location(51.48, 7.5)
            ),
        )
        row = {"Titel": "Treff"}
        yield ImportRecord("row 3", Offer(title=row["Title"], kind="meeting_place"))


def test_an_importer_that_crashes_records_a_failed_run_and_writes_nothing(make_directory, tmp_path):
    directory = make_directory(
        importers={"csv": CSV_SETTINGS},
        plugins=[one_importer_plugin("carrier-x", CrashingImporter)],
    )
    run_import(directory, "awo", "csv", write_csv(tmp_path / "a.csv", [csv_row(1)]))
    before = dump(directory)
    with pytest.raises(ImporterCrashed) as caught:
        run_import(directory, "awo", "crashing", "anything.csv", full=True, user="tester")
    message = str(caught.value)
    assert "importer 'crashing' of plugin 'carrier-x'" in message
    assert "after row 2" in message and "KeyError: 'Title'" in message
    assert isinstance(caught.value.__cause__, KeyError)  # the traceback for --debug
    after = dump(directory)
    for table in ("offers", "offer_categories", "outbox"):
        assert after[table] == before[table]
    failed = import_runs(directory)[0]
    assert failed["status"] == "failed" and failed["importer"] == "crashing"
    assert "KeyError: 'Title'" in failed["error"] and failed["records"] == 1
    assert failed["created"] == 0 and failed["archived"] == 0
    assert import_runs(directory)[1]["status"] == "completed"


def test_a_row_without_any_place_is_rejected_unless_its_channels_need_none(
    make_directory, tmp_path
):
    settings = {**CSV_SETTINGS, "columns": {**CSV_SETTINGS["columns"], "channels": "Wege"}}
    directory = make_directory(importers={"csv": settings})
    header = [*CSV_HEADER, "Wege"]
    nowhere = {"Straße": "", "PLZ": "", "Ort": ""}
    rows = [
        [*csv_row(1), "vor Ort"],
        [*csv_row(2, **nowhere), "vor Ort"],
        [*csv_row(3, **nowhere, Art="Treff"), "Telefon, Hausbesuch"],
    ]
    report = run_import(directory, "awo", "csv", write_csv(tmp_path / "a.csv", rows, header=header))
    assert [str(r) for r in report.rejected] == [
        "row 3, field address: no address, coordinates or district, so no search by place can "
        "find the offer; give one, or channels that need no place (phone, online or home_visit)"
    ]
    assert sorted(o.external_id for o in report.created) == ["1", "3"]


class BrokenSetupImporter(CrashingImporter):
    name = "broken-setup"

    def __init__(self, carrier, settings, directory):
        super().__init__(carrier, settings, directory)
        self.delimiter = settings["delimiter"]  # a setting the instance file does not have


def test_an_importer_that_crashes_when_set_up_is_named_too(make_directory):
    directory = make_directory(plugins=[one_importer_plugin("carrier-y", BrokenSetupImporter)])
    with pytest.raises(ImporterCrashed) as caught:
        run_import(directory, "awo", "broken-setup", "anything.csv")
    assert str(caught.value) == (
        "importer 'broken-setup' of plugin 'carrier-y' failed before its first record: "
        "KeyError: 'delimiter'; nothing was written"
    )
    assert import_runs(directory)[0]["status"] == "failed"


@pytest.mark.parametrize("column", ["Träger", "traeger", " CARRIER "])
def test_a_carrier_column_is_refused_not_ignored(directory, tmp_path, column):
    """The carrier comes from the command line; a per-row carrier column would be
    silently wrong for a city-wide list, so the file is refused."""
    rows = [csv_row(1) + ["Caritas"], csv_row(2) + ["AWO"]]
    source = write_csv(tmp_path / "a.csv", rows, header=[*CSV_HEADER, column])
    with pytest.raises(SourceError) as caught:
        run_import(directory, "awo", "csv", source)
    message = str(caught.value)
    assert f"column {column.strip()!r} names a carrier per row" in message
    assert "split the file by carrier" in message
    assert directory.store.count_offers() == 0 and import_runs(directory) == []


def test_the_garbage_collector_runs_less_often_during_an_import_and_is_restored(
    make_directory, tmp_path
):
    import gc

    from directory_core.importing import IMPORT_GC_THRESHOLD, fewer_collections

    before = gc.get_threshold()
    seen = []

    @hookimpl
    def validate_offer(offer):
        seen.append(gc.get_threshold())

    plugin = types.SimpleNamespace(validate_offer=validate_offer)
    directory = make_directory(importers={"csv": CSV_SETTINGS}, plugins=[("probe", plugin)])
    run_import(directory, "awo", "csv", write_csv(tmp_path / "a.csv", [csv_row(1)]))
    assert seen == [IMPORT_GC_THRESHOLD]
    assert gc.get_threshold() == before
    with pytest.raises(ImportFailed):
        run_import(directory, "awo", "no-such-importer", "x.csv")
    assert gc.get_threshold() == before
    with fewer_collections():
        with fewer_collections():  # nested (or a second thread's import): counted
            assert gc.get_threshold() == IMPORT_GC_THRESHOLD
        assert gc.get_threshold() == IMPORT_GC_THRESHOLD
        with pytest.raises(RuntimeError), fewer_collections():
            raise RuntimeError("restored on errors too")
        assert gc.get_threshold() == IMPORT_GC_THRESHOLD
    assert gc.get_threshold() == before
