"""`ktpel office import DIR`: a folder built from the shared faces and fingerprints, recorded in bulk."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sqlalchemy import select

from ktpel.office.enrollment.bulk import import_folder
from ktpel.office.enrollment.samples import write_sample_folder
from ktpel.security.access import Role, User
from ktpel.store.schema.core import EnrollmentRow
from ktpel.store.schema.sync import OutboxRow

# The CLI and the demo run on the office's SQLite; storage on PostgreSQL is covered by the API tests,
# which call the same record_enrollment.
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def _run(office, folder: Path, monkeypatch, operator: str = "op1"):  # noqa: ANN001, ANN202
    """`ktpel office import` in process (the real typer app), on the test office's settings."""
    from typer.testing import CliRunner

    from ktpel.cli import app

    monkeypatch.setattr("ktpel.config.get_settings", lambda: office.settings)
    return CliRunner().invoke(app, ["office", "import", str(folder), "--operator", operator])


@sqlite_only
def test_import_records_a_folder_once_and_reports_bad_residents(office, tmp_path, regions, monkeypatch):
    niks = office.unrecorded_niks(3)
    folder = write_sample_folder(shared_data=office.settings.shared_data, niks=niks, target=tmp_path / "batch")
    (folder / niks[2] / "face.pgm").write_bytes(b"not an image at all")
    done = _run(office, folder, monkeypatch)
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    assert report["recorded"] == 2 and report["residents_per_minute"] > 0
    assert [f["nik"] for f in report["failed"]] == [niks[2]] and report["failed"][0]["code"] == "not_an_image"
    assert "Perekaman massal" in done.stderr and "Perekaman massal" not in done.stdout  # progress on stderr
    with office.db.unit_of_work() as s:
        states = s.scalars(select(EnrollmentRow.state)).all()
        packets = s.scalars(select(OutboxRow.kind)).all()
    assert states == ["QUEUED"] * 2 and packets == ["enrollment"] * 2

    # the same folder again (in process: the CLI is the same call) records nobody twice
    again = import_folder(office.db, settings=office.settings, regions=regions, folder=folder,
                          operator=User(id=1, username="op1", role=Role.OPERATOR, regency_code="18.01"))
    assert len(again.recorded) == 0 and len(again.repeated) == 2 and len(again.failed) == 1
    assert office.count(EnrollmentRow) == 2

    stranger = _run(office, folder, monkeypatch, operator="nobody")
    assert stranger.exit_code == 2 and "tidak ditemukan" in stranger.stderr


@sqlite_only
def test_demo_step_records_a_handful_idempotently(office, monkeypatch):
    from rich.console import Console

    from ktpel.demo import enrollment as demo
    from ktpel.demo.enrollment import record_demo_residents

    monkeypatch.setattr(demo, "DEMO_RECORDINGS", 2)  # the demo records 5; 2 show the same
    DEMO_RECORDINGS = 2
    console = Console(file=open(os.devnull, "w"))
    record_demo_residents(settings=office.settings, office_db=office.db, console=console)
    assert office.count(EnrollmentRow) == DEMO_RECORDINGS
    record_demo_residents(settings=office.settings, office_db=office.db, console=console)
    assert office.count(EnrollmentRow) == DEMO_RECORDINGS and office.count(OutboxRow) == DEMO_RECORDINGS
