"""Demo step: the pipeline worker runs beside the demo, and one resident is recorded a second time elsewhere.

The demo office (Lampung Selatan, 18.01) records a few residents; their packets reach the demo central
and the worker started here decides them within seconds (unique → PRR). To show data ganda, this step
also delivers to central's intake a recording of the first demo resident made at a second office
(Kota Bandar Lampung, 18.71) under another NIK: another photo of the same face (ORL s1/2.pgm) and
other impressions of the same ten fingers. Whichever of the two is decided second lands in the
adjudication queue (http://127.0.0.1:8001/adjudikasi), two adjudicators confirm "same person", and
the case is resolved at the office page /data-ganda (the resident chooses which record stays).

Two more plants show decisions that need a person (reason `modality_conflict`):
- a finger-only duplicate: the first resident again under another NIK at 18.71, with another person's
  photo (ORL s40) and a fourth impression of the same ten FVC fingers;
- a face-only coincidence: a "twin" at 18.72 (same birth date, another name) with another photo of the
  first resident's face (ORL s1/3) and ten fingers nobody in the demo has (FVC2000 DB4_B). The
  adjudication page names it as possible twins.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select

from ktpel.domain import clock

log = logging.getLogger("ktpel.central.pipeline")
SECOND_OFFICE = "18.71"
_started: dict[str, object] = {}


# (packet id, enrollment id, office, NIK serial, receipt, face (ORL person, photo), fingers (FVC set, impression),
#  name or None for the resident's own)
PLANTS = {
    "second_office": ("demo-second-office-0001", "E-DEMO-1871-0001", SECOND_OFFICE, "9001", "DEMO-GNDA-0001",
                      (1, 2), ("FVC2002_DB1_B", 3), None),
    "finger_only": ("demo-finger-only-0001", "E-DEMO-1871-0002", SECOND_OFFICE, "9002", "DEMO-GNDA-0002",
                    (40, 1), ("FVC2002_DB1_B", 4), None),
    "face_only": ("demo-face-only-0001", "E-DEMO-1872-0001", "18.72", "9003", "DEMO-KMBR-0001",
                  (1, 3), ("FVC2000_DB4_B", 1), "SARI KEMBAR"),
}


def _second_recording(*, settings, resident, enrollment_id: str, plant: str = "second_office") -> dict:  # noqa: ANN001
    """The packet payload another office would send: the resident (or a twin) under another NIK."""
    import base64

    from ktpel.biometrics import get_engine

    _, _, office, serial, receipt, (orl, photo), (fvc, impression), name = PLANTS[plant]
    shared = settings.resolved_shared_data()
    engine = get_engine()
    face = (shared / "faces" / "att_orl" / f"s{orl}" / f"{photo}.pgm").read_bytes()
    templates = {"face": engine.extract_face(face).to_bytes()}
    images = {"face": face}
    for p in range(1, 11):
        # resident 0's finger at position p is FVC2002 DB1_B id 101 + (p-1) (samples.finger_path), impression 1
        path = shared / "fingerprints" / fvc / f"{101 + (p - 1) % 10}_{impression}.tif"
        img = path.read_bytes()
        templates[f"finger_{p}"] = engine.extract_finger(img, finger_position=p).to_bytes()
        images[f"finger_{p}"] = img
    b64 = lambda b: base64.b64encode(b).decode("ascii")  # noqa: E731
    d = resident.birth_date
    day = d.day + (40 if resident.sex == "P" else 0)
    nik = f"{office.replace('.', '')}01{day:02d}{d.month:02d}{d.year % 100:02d}{serial}"
    return {
        "format": "ktpel.enrollment", "version": 1, "enrollment_id": enrollment_id, "office_code": office,
        "receipt_number": receipt, "captured_at": clock.now().isoformat(),
        "operator": f"demo-{office}", "approved_by": None,
        "resident": {"nik": nik, "kk_number": f"{office.replace('.', '')}010101000001", "name": name or resident.name,
                     "birth_place": resident.birth_place, "birth_date": d.isoformat(), "sex": resident.sex,
                     "blood_type": resident.blood_type, "street": "Jl. Teuku Umar 12", "rt": "003", "rw": "001",
                     "village_code": f"{office}.01.1001", "religion": resident.religion,
                     "marital_status": resident.marital_status, "occupation": resident.occupation,
                     "citizenship": "WNI", "family_role": resident.family_role, "father_name": resident.father_name,
                     "mother_name": resident.mother_name, "regency_code": office, "district_code": f"{office}.01"},
        "quality": {}, "exceptions": {},
        "templates": {k: b64(v) for k, v in templates.items()},
        "images": {k: b64(v) for k, v in images.items()},
        "image_types": {k: ("image/x-portable-graymap" if k == "face" else "image/tiff") for k in images},
    }


def inject_second_office_recording(*, settings, office_db, central_db,  # noqa: ANN001
                                   plant: str = "second_office") -> str | None:
    """Deliver (once) a planted recording of the first demo resident (or a twin) to central's intake."""
    from ktpel.central.pipeline.intake import handle_enrollment
    from ktpel.store.schema.central import PipelineJobRow
    from ktpel.store.schema.core import EnrollmentRow, ResidentRow

    packet_id, enrollment_id, office = PLANTS[plant][:3]
    with central_db.unit_of_work() as s:
        if s.scalar(select(PipelineJobRow.id).where(PipelineJobRow.packet_id == packet_id)) is not None:
            return None
    with office_db.unit_of_work() as s:
        first = s.scalars(select(EnrollmentRow).order_by(EnrollmentRow.created_at, EnrollmentRow.id)).first()
        if first is None:
            return None
        resident = s.get(ResidentRow, first.resident_id)
    payload = _second_recording(settings=settings, resident=resident, enrollment_id=enrollment_id, plant=plant)
    with central_db.unit_of_work() as s:
        handle_enrollment(s, packet_id=packet_id, office_code=office, kind="enrollment",
                          subject_id=payload["enrollment_id"], payload=payload)
    return payload["resident"]["nik"]


def start_demo_pipeline(*, settings, office_db, console=None) -> list:  # noqa: ANN001
    """Demo step: a pipeline worker process over the demo central, and the data-ganda scenario."""
    import os
    import sys

    from ktpel.store.db import open_database

    central_db = open_database(settings, name="central")
    planted: dict[str, str | None] = {}
    for plant in PLANTS:
        try:
            planted[plant] = inject_second_office_recording(settings=settings, office_db=office_db,
                                                            central_db=central_db, plant=plant)
        except Exception as exc:  # noqa: BLE001 - the demo still runs without the scenario
            log.warning("demo scenario %s not prepared: %s", plant, exc)
            planted[plant] = None
    nik = planted["second_office"]
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
    if console is not None and planted.get("finger_only"):
        console.print(f"[green]✓[/green] pusat: sidik jari sama, foto lain (NIK {planted['finger_only']}) — "
                      "/adjudikasi, alasan: konflik modalitas (finger-only duplicate)")
    if console is not None and planted.get("face_only"):
        console.print(f"[green]✓[/green] pusat: wajah sama, sidik jari lain (NIK {planted['face_only']}) — "
                      "/adjudikasi, alasan: konflik modalitas, kemungkinan kembar (face-only coincidence)")
    key = str(settings.data_dir)
    if key in _started:
        return []
    # a process of its own: the 1:N search is CPU-bound and must not share the office server's threads
    env = {k: v for k, v in os.environ.items() if k != "KTPEL_DATABASE_URL"}
    env.update({"KTPEL_DATA_DIR": str(settings.data_dir), "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"})
    from ktpel.supervisor import supervisor

    # started by the supervisor's long-lived thread: it dies with the demo, and is restarted if it crashes
    child = supervisor().start(name=f"pipeline:{key}", log_path=settings.data_dir / "pipeline.log", env=env,
                               argv=[sys.executable, "-m", "ktpel.cli", "central", "worker", "-n", "1"])
    _started[key] = child
    if console is not None:
        console.print(f"[green]✓[/green] pusat: pekerja pipeline berjalan (pipeline worker, pid {child.proc.pid}, "
                      f"log {settings.data_dir / 'pipeline.log'})")
    return []
