"""Demo step: the pipeline worker runs beside the demo, and one resident is recorded a second time elsewhere.

The demo office (Lampung Selatan, 18.01) records a few residents; their packets reach the demo central
and the worker started here decides them within seconds (unique → PRR). To show data ganda, this step
also delivers to central's intake a recording of the first demo resident made at a second office
(Kota Bandar Lampung, 18.71) under another NIK: another photo of the same face (ORL s1/2.pgm) and
other impressions of the same ten fingers. Whichever of the two is decided second lands in the
adjudication queue (http://127.0.0.1:8001/adjudikasi), two adjudicators confirm "same person", and
the case is resolved at the office page /data-ganda (the resident chooses which record stays).
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select

from ktpel.domain import clock

log = logging.getLogger("ktpel.central.pipeline")
SECOND_OFFICE = "18.71"
_started: dict[str, object] = {}


def _second_recording(*, settings, resident, enrollment_id: str) -> dict:  # noqa: ANN001
    """The packet payload a second office would send for the same person under another NIK."""
    import base64

    from ktpel.biometrics import get_engine
    from ktpel.office.enrollment import samples

    shared = settings.resolved_shared_data()
    engine = get_engine()
    face = (shared / "faces" / "att_orl" / "s1" / "2.pgm").read_bytes()
    templates = {"face": engine.extract_face(face).to_bytes()}
    images = {"face": face}
    for p in range(1, 11):
        # resident 0's finger at position p is FVC id 101 + (p-1); impression 3 instead of 1
        path = samples.finger_path(shared, 0, p).with_name(f"{101 + (p - 1) % 10}_3.tif")
        img = path.read_bytes()
        templates[f"finger_{p}"] = engine.extract_finger(img, finger_position=p).to_bytes()
        images[f"finger_{p}"] = img
    b64 = lambda b: base64.b64encode(b).decode("ascii")  # noqa: E731
    d = resident.birth_date
    day = d.day + (40 if resident.sex == "P" else 0)
    nik = f"187101{day:02d}{d.month:02d}{d.year % 100:02d}9001"
    return {
        "format": "ktpel.enrollment", "version": 1, "enrollment_id": enrollment_id, "office_code": SECOND_OFFICE,
        "receipt_number": "DEMO-GNDA-0001", "captured_at": clock.now().isoformat(),
        "operator": "demo-bandar-lampung", "approved_by": None,
        "resident": {"nik": nik, "kk_number": "1871010101000001", "name": resident.name,
                     "birth_place": resident.birth_place, "birth_date": d.isoformat(), "sex": resident.sex,
                     "blood_type": resident.blood_type, "street": "Jl. Teuku Umar 12", "rt": "003", "rw": "001",
                     "village_code": "18.71.01.1001", "religion": resident.religion,
                     "marital_status": resident.marital_status, "occupation": resident.occupation,
                     "citizenship": "WNI", "family_role": resident.family_role, "father_name": resident.father_name,
                     "mother_name": resident.mother_name, "regency_code": SECOND_OFFICE, "district_code": "18.71.01"},
        "quality": {}, "exceptions": {},
        "templates": {k: b64(v) for k, v in templates.items()},
        "images": {k: b64(v) for k, v in images.items()},
        "image_types": {k: ("image/x-portable-graymap" if k == "face" else "image/tiff") for k in images},
    }


def inject_second_office_recording(*, settings, office_db, central_db) -> str | None:  # noqa: ANN001
    """Deliver (once) the second office's recording of the first demo resident to central's intake."""
    from ktpel.central.pipeline.intake import handle_enrollment
    from ktpel.store.schema.central import PipelineJobRow
    from ktpel.store.schema.core import EnrollmentRow, ResidentRow

    packet_id = "demo-second-office-0001"
    with central_db.unit_of_work() as s:
        if s.scalar(select(PipelineJobRow.id).where(PipelineJobRow.packet_id == packet_id)) is not None:
            return None
    with office_db.unit_of_work() as s:
        first = s.scalars(select(EnrollmentRow).order_by(EnrollmentRow.created_at, EnrollmentRow.id)).first()
        if first is None:
            return None
        resident = s.get(ResidentRow, first.resident_id)
    payload = _second_recording(settings=settings, resident=resident, enrollment_id="E-DEMO-1871-0001")
    with central_db.unit_of_work() as s:
        handle_enrollment(s, packet_id=packet_id, office_code=SECOND_OFFICE, kind="enrollment",
                          subject_id=payload["enrollment_id"], payload=payload)
    return payload["resident"]["nik"]


def _die_with_parent() -> None:
    """Linux: the worker gets SIGTERM when the demo process dies, even by kill -9."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def start_demo_pipeline(*, settings, office_db, console=None) -> list:  # noqa: ANN001
    """Demo step: a pipeline worker process over the demo central, and the data-ganda scenario."""
    import os
    import subprocess
    import sys

    from ktpel.store.db import open_database

    central_db = open_database(settings, name="central")
    try:
        nik = inject_second_office_recording(settings=settings, office_db=office_db, central_db=central_db)
    except Exception as exc:  # noqa: BLE001 - the demo still runs without the scenario
        log.warning("demo data-ganda scenario not prepared: %s", exc)
        nik = None
    model = None
    try:  # trained here, not in the worker's first job: the demo's duplicate is then caught at once
        from ktpel.central.dedup.service import current_model, stored_model

        with central_db.unit_of_work() as s:
            current_model(s, db_key=central_db.url, trained_by="ktpel demo")
            model = stored_model(s)
    except Exception as exc:  # noqa: BLE001 - the worker trains it itself then
        log.warning("demo dedup model not trained: %s", exc)
    finally:
        central_db.dispose()
    if console is not None and model is not None:
        console.print(f"[green]✓[/green] pusat: model demografis siap (demographic model: "
                      f"{model.model.get('trained_on', {}).get('engine', 'prior')}, {model.records} rekaman)")
    if console is not None and nik:
        console.print(f"[green]✓[/green] pusat: rekaman kedua (kantor {SECOND_OFFICE}, NIK {nik}) dari penduduk "
                      "demo pertama — lihat /adjudikasi di pusat (data ganda)")
    key = str(settings.data_dir)
    if key in _started:
        return []
    # a process of its own: the 1:N search is CPU-bound and must not share the office server's threads
    env = {k: v for k, v in os.environ.items() if k != "KTPEL_DATABASE_URL"}
    env.update({"KTPEL_DATA_DIR": str(settings.data_dir), "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"})
    log_file = open(settings.data_dir / "pipeline.log", "ab")
    proc = subprocess.Popen([sys.executable, "-m", "ktpel.cli", "central", "worker", "-n", "1"], env=env,
                            stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
                            preexec_fn=_die_with_parent)
    _started[key] = proc
    if console is not None:
        console.print(f"[green]✓[/green] pusat: pekerja pipeline berjalan (pipeline worker, pid {proc.pid}, "
                      f"log {settings.data_dir / 'pipeline.log'})")
    return []
