"""The demo's planted recordings reach adjudication with their reason (the `ktpel demo` data-ganda scenes)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from ktpel.store.schema.central import AdjudicationRow


@pytest.mark.slow
def test_planted_finger_only_duplicate_and_face_only_coincidence_reach_adjudication(central, db, settings):
    from ktpel.demo.pipeline import PLANTS, _second_recording

    resident = SimpleNamespace(name="RATNA DEWI", birth_place="KALIANDA", birth_date=dt.date(1990, 5, 17), sex="P",
                               blood_type="A", religion="ISLAM", marital_status="KAWIN", occupation="PETANI",
                               family_role="ISTRI", father_name="AHMAD", mother_name="SITI")
    # the first demo resident as the office records her: ORL s1/1 and FVC2002 DB1_B 101-110, impression 1
    first = _second_recording(settings=settings, resident=resident, enrollment_id="E-DEMO-OFFICE-0001",
                              plant="second_office")
    shared = settings.resolved_shared_data()
    from ktpel.biometrics import get_engine
    import base64

    eng = get_engine()
    face = (shared / "faces" / "att_orl" / "s1" / "1.pgm").read_bytes()
    first["templates"]["face"] = base64.b64encode(eng.extract_face(face).to_bytes()).decode()
    for p in range(1, 11):
        img = (shared / "fingerprints" / "FVC2002_DB1_B" / f"{100 + p}_1.tif").read_bytes()
        first["templates"][f"finger_{p}"] = base64.b64encode(
            eng.extract_finger(img, finger_position=p).to_bytes()).decode()
    first["office_code"], first["resident"]["nik"] = "18.01", "1801015705909999"
    central.receive(first)
    for plant in ("finger_only", "face_only"):
        central.receive(_second_recording(settings=settings, resident=resident, enrollment_id=PLANTS[plant][1],
                                          plant=plant))
    assert [o.outcome for o in central.worker.drain()] == ["PRINT_READY", "ADJUDICATION", "ADJUDICATION"]
    with db.unit_of_work() as s:
        items = {i.record_id: i for i in s.scalars(select(AdjudicationRow))}
    fo, tw = items[PLANTS["finger_only"][1]], items[PLANTS["face_only"][1]]
    assert fo.candidate_id == tw.candidate_id == "E-DEMO-OFFICE-0001"
    assert (fo.reason, fo.scores["conflict"]) == ("modality_conflict", "finger_only")
    assert (tw.reason, tw.scores["conflict"]) == ("modality_conflict", "face_only")
