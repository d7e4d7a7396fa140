"""`ktpel office import DIR`: a folder built from the shared faces and fingerprints, recorded in bulk."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from ktpel.office.enrollment.bulk import import_folder
from ktpel.office.enrollment.samples import write_sample_folder
from ktpel.security.access import Role, User
from ktpel.store.schema.core import EnrollmentRow
from ktpel.store.schema.sync import OutboxRow

KTPEL = str(Path(sys.executable).with_name("ktpel"))


def _run(office, folder: Path, operator: str = "op1") -> subprocess.CompletedProcess:  # noqa: ANN001
    env = {**os.environ, "KTPEL_DATABASE_URL": office.settings.database_url,
           "KTPEL_DATA_DIR": str(office.settings.data_dir), "KTPEL_SHARED_DATA": str(office.settings.shared_data)}
    return subprocess.run([KTPEL, "office", "import", str(folder), "--operator", operator], env=env,
                          capture_output=True, text=True, timeout=300)


def test_import_records_a_folder_once_and_reports_bad_residents(office, tmp_path, regions):
    niks = office.unrecorded_niks(3)
    folder = write_sample_folder(shared_data=office.settings.shared_data, niks=niks, target=tmp_path / "batch")
    (folder / niks[2] / "face.pgm").write_bytes(b"not an image at all")
    done = _run(office, folder)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["recorded"] == 2 and report["residents_per_minute"] > 0
    assert [f["nik"] for f in report["failed"]] == [niks[2]] and report["failed"][0]["code"] == "not_an_image"
    assert "Perekaman massal" in done.stderr  # the progress bar, on stderr
    with office.db.unit_of_work() as s:
        states = s.scalars(select(EnrollmentRow.state)).all()
        packets = s.scalars(select(OutboxRow.kind)).all()
    assert states == ["QUEUED"] * 2 and packets == ["enrollment"] * 2

    # the same folder again (in process: the CLI is the same call) records nobody twice
    again = import_folder(office.db, settings=office.settings, regions=regions, folder=folder,
                          operator=User(id=1, username="op1", role=Role.OPERATOR, regency_code="18.01"))
    assert len(again.recorded) == 0 and len(again.repeated) == 2 and len(again.failed) == 1
    assert office.count(EnrollmentRow) == 2

    stranger = _run(office, folder, operator="nobody")
    assert stranger.returncode == 2 and "tidak ditemukan" in stranger.stderr


def test_demo_step_records_a_handful_idempotently(office, monkeypatch):
    from rich.console import Console

    from ktpel.office.enrollment import demo
    from ktpel.office.enrollment.demo import record_demo_residents

    monkeypatch.setattr(demo, "DEMO_RECORDINGS", 2)  # the demo records 5; 2 show the same
    DEMO_RECORDINGS = 2
    console = Console(file=open(os.devnull, "w"))
    record_demo_residents(settings=office.settings, office_db=office.db, console=console)
    assert office.count(EnrollmentRow) == DEMO_RECORDINGS
    record_demo_residents(settings=office.settings, office_db=office.db, console=console)
    assert office.count(EnrollmentRow) == DEMO_RECORDINGS and office.count(OutboxRow) == DEMO_RECORDINGS
