"""Records enrolled before the thumb rule whose thumb is too poor for the national search, listed per office:
counted by the pipeline's quality stage, or once by the command for records stored before that count."""

from __future__ import annotations

import csv
import json

from sqlalchemy import select, update
from typer.testing import CliRunner

from ktpel.central.abis.recall import count_in_gallery, count_older_records, count_uncounted, short_thumbs
from ktpel.store.schema.central import NationalRecordRow
from tests.integration.central.conftest import make_payload


def _record(central, people, db) -> dict[str, str]:
    """Person 1's fifth capture has a right thumb of 13 minutiae (FVC2002 101_5), as a record enrolled
    before the counter refused one; persons 2 and 3 have thumbs of 15 or more. Left thumbs (and fingers
    5–10) are declared missing, so they have no template. Returns record id by NIK."""
    for person, impression, nik, office in [(1, 5, "1801051705900001", "18.01"), (2, 1, "1801054203850002", "18.01"),
                                            (3, 1, "1802050303800006", "18.02")]:
        central.receive(make_payload(people.biometrics(person=person, impression=impression), nik=nik,
                                     name=f"Orang {'ABC'[person - 1]}", office_code=office))
    central.worker.drain()
    with db.unit_of_work() as s:
        return {r.nik: r.id for r in s.scalars(select(NationalRecordRow))}


def test_short_thumbs_are_listed_per_office_and_revoked_records_leave_the_list(central, people, db,
                                                                                settings, tmp_path, monkeypatch, request):
    ids = _record(central, people, db)
    with db.unit_of_work() as s:
        # the quality stage counted each record's short thumbs as it parsed them
        assert {r.nik: r.short_thumbs for r in s.scalars(select(NationalRecordRow))} == {
            "1801051705900001": 1, "1801054203850002": 0, "1802050303800006": 0}
        assert count_in_gallery(s) == 3 and count_in_gallery(s, office_code="18.02") == 1
        assert count_uncounted(s) == 0
        found = list(short_thumbs(s))
        assert [(t.record_id, t.nik, t.office_code, t.finger_position, t.minutiae) for t in found] == [
            (ids["1801051705900001"], "1801051705900001", "18.01", 1, 13)]
        assert list(short_thumbs(s, office_code="18.02")) == []

    # records stored before the count: not listed until counted, then counted once, a batch at a time
    with db.unit_of_work() as s:
        s.execute(update(NationalRecordRow).values(short_thumbs=None))
    with db.unit_of_work() as s:
        assert list(short_thumbs(s)) == [] and count_uncounted(s) == 3 and count_uncounted(s, office_code="18.02") == 1
    assert count_older_records(db, office_code="18.02") == 1
    with db.unit_of_work() as s:
        assert count_uncounted(s) == 2 and list(short_thumbs(s, office_code="18.02")) == []

    # the operator's command counts the rest first (with a progress bar), then lists: a table per office, a CSV
    # the office can call residents from, and its figures
    from ktpel import config
    from ktpel.cli import app

    monkeypatch.setenv("KTPEL_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("KTPEL_DATABASE_URL", settings.database_url)
    config.get_settings.cache_clear()
    request.addfinalizer(config.get_settings.cache_clear)  # the next test's command reads its own settings
    out = tmp_path / "ibu-jari.csv"
    result = CliRunner().invoke(app, ["central", "abis-thumbs", "--csv", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 dari 3 rekaman di galeri perlu rekam ulang ibu jari" in result.output
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "records_in_gallery": 3, "records_short": 1, "thumbs_short": 1, "older_records_counted": 2}
    with db.unit_of_work() as s:
        assert {r.nik: r.short_thumbs for r in s.scalars(select(NationalRecordRow))} == {
            "1801051705900001": 1, "1801054203850002": 0, "1802050303800006": 0}
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [(r["nik"], r["office_code"], r["finger_position"], r["minutiae"]) for r in rows] == [
        ("1801051705900001", "18.01", "1", "13")]

    # a revoked record is out of the gallery: nobody to call back for it
    with db.unit_of_work() as s:
        s.get(NationalRecordRow, ids["1801051705900001"]).state = "REVOKED"
    with db.unit_of_work() as s:
        assert list(short_thumbs(s)) == [] and count_in_gallery(s) == 2
    result = CliRunner().invoke(app, ["central", "abis-thumbs", "--office", "18.01"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "records_in_gallery": 1, "records_short": 0, "thumbs_short": 0, "older_records_counted": 0}


def test_the_command_refuses_an_unknown_office_or_a_missing_folder_before_reading_anything(settings, db, tmp_path,
                                                                                          monkeypatch, request):
    from ktpel import config
    from ktpel.cli import app

    monkeypatch.setenv("KTPEL_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("KTPEL_DATABASE_URL", settings.database_url)
    config.get_settings.cache_clear()
    request.addfinalizer(config.get_settings.cache_clear)
    for args, says in [(["--office", "99.99"], "bukan kode kabupaten/kota"),
                       (["--office", "18.01.05"], "not a regency code"),
                       (["--csv", str(tmp_path / "tidak-ada" / "x.csv")], "folder tidak ada")]:
        result = CliRunner().invoke(app, ["central", "abis-thumbs", *args])
        assert result.exit_code == 2 and says in result.output, result.output
    assert not (tmp_path / "tidak-ada").exists()
