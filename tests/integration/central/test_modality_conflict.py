"""A strong match in one modality and a clear non-match in another goes to a person (modality_conflict)."""

from __future__ import annotations

from sqlalchemy import select

from ktpel.central.pipeline.conflict import FACE_ONLY, FINGER_ONLY, face_strong_z, modality_conflict
from ktpel.store.schema.central import AdjudicationRow
from tests.integration.central.conftest import make_payload


def _mix(people, *, face_of: tuple[int, int], fingers_of: tuple[int, int]) -> dict:
    """A recording whose face is one person's photo and whose fingers are another capture's."""
    face = people.biometrics(person=face_of[0], impression=face_of[1])
    fingers = people.biometrics(person=fingers_of[0], impression=fingers_of[1])
    templates = {"face": face["templates"]["face"],
                 **{k: v for k, v in fingers["templates"].items() if k.startswith("finger_")}}
    images = {"face": face["images"]["face"], **{k: v for k, v in fingers["images"].items() if k != "face"}}
    return {"templates": templates, "images": images}


def test_finger_only_and_face_only_duplicates_reach_adjudication_with_their_reason(central, people, db, settings):
    first = make_payload(people.biometrics(person=1, impression=1), nik="1801051705900001", name="Budi Santoso")
    second = make_payload(people.biometrics(person=2, impression=1), nik="1801054203850002", name="Sri Wahyuni",
                          sex="P", birth_date="1985-03-02")
    # another ORL person's face (s7) on the same fingers as Budi (impression 2): finger-only duplicate
    finger_only = make_payload(_mix(people, face_of=(7, 1), fingers_of=(1, 2)), nik="1871011208770003",
                               name="Agus Salim", birth_date="1977-08-12", office_code="18.71")
    # Sri's face (another photo) with fingers never recorded (FVC2000 DB4): a face-only coincidence (twin?)
    face_only = make_payload(_mix(people, face_of=(2, 2), fingers_of=(3, 1)), nik="1872015506880004",
                             name="Dewi Lestari", sex="P", birth_date="1988-06-15", office_code="18.72")
    unique = make_payload(people.biometrics(person=4, impression=1), nik="1801051010950005", name="Joko Widodo",
                          birth_date="1995-10-10")
    for p in (first, second, finger_only, face_only, unique):
        central.receive(p)
    outs = central.worker.drain()
    assert [o.outcome for o in outs] == ["PRINT_READY", "PRINT_READY", "ADJUDICATION", "ADJUDICATION",
                                         "PRINT_READY"]
    with db.unit_of_work() as s:
        items = {i.record_id: i for i in s.scalars(select(AdjudicationRow)).all()}
    assert set(items) == {finger_only["enrollment_id"], face_only["enrollment_id"]}
    a, b = items[finger_only["enrollment_id"]], items[face_only["enrollment_id"]]
    assert (a.reason, a.candidate_id, a.scores["conflict"]) == ("modality_conflict", first["enrollment_id"], FINGER_ONLY)
    assert (b.reason, b.candidate_id, b.scores["conflict"]) == ("modality_conflict", second["enrollment_id"], FACE_ONLY)
    assert b.urgency >= 50  # at least as urgent as a review, whatever the fused band

    # the adjudicator sees the reason (Bahasa first) and, for same face / other fingers, the twin note
    from ktpel.security.access import Role
    from ktpel.web.app import create_app
    from tests.auth_fixtures import authed_client

    client = authed_client(create_app(settings=settings, side="central", db=db), db, Role.ADJUDICATOR)
    assert "konflik modalitas" in client.get("/adjudikasi").text
    twin = client.get(f"/adjudikasi/{b.id}").text
    assert "konflik modalitas" in twin and "Kemungkinan kembar" in twin
    fingers = client.get(f"/adjudikasi/{a.id}").text
    assert "Sidik jari sama, wajah berbeda" in fingers and "Kemungkinan kembar" not in fingers


def test_one_finger_does_not_decide_alone():
    """A best finger whose other fingers say nothing counts only up to the z the impostor data
    measured; corroborated by a second finger (or compared alone) it keeps its score."""
    from ktpel.biometrics.fusion import load_calibration
    from ktpel.central.pipeline.conflict import CORROBORATION_Z, corroborated, person_reason

    cal = load_calibration()
    measured = cal.modalities["finger"].measured_z
    assert 3.5 < measured < 4.0  # 5,760 FVC impostor pairs
    kw = dict(fuse=cal.fuse, review_z=cal.review_z, hit_z=cal.hit_z, finger_measured_z=measured)
    # a stranger's one finger far out in the fitted tail, three fingers of noise (seen at 20,000 identities)
    lone = {"face": 0.5, "finger_7": 11.4, "finger_1": 0.1, "finger_2": 0.3, "finger_6": 0.7}
    assert cal.fuse(lone) > 8.0  # the gallery's fused score: a hit, and a finger_only conflict
    assert corroborated(lone, fuse=cal.fuse, finger_measured_z=measured)["finger_7"] == measured
    assert person_reason(lone, fused=cal.fuse(lone), gallery_size=20_000, **kw) == (None, None)
    # a mate: the other fingers corroborate by far, nothing changes
    mate = {"face": 0.5, "finger_7": 11.4, "finger_1": 9.0, "finger_2": 0.3, "finger_6": 7.0}
    assert corroborated(mate, fuse=cal.fuse, finger_measured_z=measured) is mate
    assert person_reason(mate, fused=cal.fuse(mate), gallery_size=20_000, **kw) == ("modality_conflict", "finger_only")
    # seen at 100,000 identities (run P): a stranger's best finger far out, a second at z 3.5, the rest noise
    near = {"face": 2.6, "finger_2": 7.97, "finger_6": 3.54, "finger_1": 0.06, "finger_7": 0.28}
    assert corroborated(near, fuse=cal.fuse, finger_measured_z=measured)["finger_2"] == measured
    assert person_reason(near, fused=cal.fuse(near), gallery_size=100_000, **kw) == (None, None)
    # just corroborated: the other fingers fused at CORROBORATION_Z
    edge = {"finger_7": 9.0, "finger_1": CORROBORATION_Z}
    assert corroborated(edge, fuse=cal.fuse, finger_measured_z=measured) is edge
    # one finger compared (one captured): nothing to corroborate, the score stands
    single = {"face": 0.5, "finger_7": 11.4}
    assert corroborated(single, fuse=cal.fuse, finger_measured_z=measured) is single


def test_conflict_rule_needs_both_modalities_and_scales_the_face_with_the_gallery():
    from ktpel.biometrics.fusion import load_calibration

    cal = load_calibration()
    kw = dict(fuse=cal.fuse, review_z=cal.review_z, hit_z=cal.hit_z)
    assert modality_conflict({"face": 7.0, "finger_1": 0.2, "finger_2": 0.4}, gallery_size=100, **kw) == FACE_ONLY
    assert modality_conflict({"face": 7.0}, gallery_size=100, **kw) is None  # fingers not compared: no evidence
    assert modality_conflict({"face": 7.0, "finger_1": 9.0, "finger_2": 8.0}, gallery_size=100, **kw) is None
    assert modality_conflict({"face": 0.3, "finger_1": 9.0, "finger_2": 8.0}, gallery_size=100, **kw) == FINGER_ONLY
    assert modality_conflict({"face": 4.0, "finger_1": 9.0, "finger_2": 8.0}, gallery_size=100, **kw) is None
    # at 1M references a face at z 7 is met by a stranger about once in ten probes: not strong there
    assert modality_conflict({"face": 7.0, "finger_1": 0.2, "finger_2": 0.4}, gallery_size=10**6, **kw) is None
    assert face_strong_z(gallery_size=10**6, review_z=4.0) == 9.0


def test_the_review_band_moves_up_with_the_gallery():
    """A unique person meets a stranger at fused z with probability ≈ N·10^-z: the band follows N."""
    from ktpel.biometrics.fusion import load_calibration
    from ktpel.central.pipeline.conflict import FPIR_MARGIN, band_at, person_reason, review_z_at

    cal = load_calibration()
    kw = dict(fuse=cal.fuse, review_z=cal.review_z, hit_z=cal.hit_z, finger_measured_z=cal.modalities["finger"].measured_z)
    assert review_z_at(gallery_size=10, review_z=4.0) == 4.0  # never below the calibrated band
    assert review_z_at(gallery_size=10**6, review_z=4.0) == 6 + FPIR_MARGIN
    # a stranger's two fingers at z 5.0 and 4.2 (fused 7.1): review in a gallery of 100, nothing at 1M
    stranger = {"face": 0.3, "finger_1": 5.0, "finger_2": 4.2}
    fused = cal.fuse(stranger)
    assert band_at(fused, gallery_size=100, review_z=4.0, hit_z=8.0) == "review"
    assert person_reason(stranger, fused=fused, gallery_size=100, **kw) == ("biometric_review", None)
    assert person_reason(stranger, fused=fused, gallery_size=10**6, **kw) == (None, None)
    # a mate on several fingers stays a hit at 1M; a face-only coincidence is a conflict at its own bar
    mate = {"face": 1.0, "finger_1": 12.0, "finger_2": 11.0, "finger_6": 9.0}
    assert person_reason(mate, fused=cal.fuse(mate), gallery_size=10**6, **kw)[0] == "modality_conflict"
    mate["face"] = 6.0
    assert person_reason(mate, fused=cal.fuse(mate), gallery_size=10**6, **kw) == ("biometric_hit", None)
    twin = {"face": 9.5, "finger_1": 0.2, "finger_2": 0.1}
    assert person_reason(twin, fused=cal.fuse(twin), gallery_size=10**6, **kw) == ("modality_conflict", "face_only")


def test_a_face_the_demographics_name_reaches_a_person_where_the_face_alone_would_not(central, people, db, settings,
                                                                                     monkeypatch):
    """At national scale a face alone is strong only from z log10 N + 3 (9 at 1M, 11.3 at 200M), and the face
    index no longer proposes a mate whose photo scores z 5: a resident recorded twice with other fingers would be
    printed twice. The demographic stage names the first record (same name, birth date, parents); among the
    few records those data block, the face needs only z 4 (FMR 10^-4). Here the face alone is never strong and
    the 1:N returns no candidate, as at national scale: the named record is scored 1:1 (Abis.verify).
    Without the demographics the same face is printed (the control)."""
    from ktpel.central.pipeline import conflict, stages
    from ktpel.store.schema.central import PipelineJobRow

    # as in a gallery of 10^37: no face is strong alone, no fused score reaches the review band
    monkeypatch.setattr(conflict, "FACE_MARGIN", 40.0)
    monkeypatch.setattr(conflict, "FPIR_MARGIN", 40.0)
    monkeypatch.setattr(stages, "MAX_CANDIDATES", 0)  # the 1:N proposes nobody
    kw = {"name": "Sri Wahyuni", "sex": "P", "birth_date": "1985-03-02"}
    first = make_payload(people.biometrics(person=2, impression=1), nik="1801054203850002", **kw)
    # Sri again (another photo), with fingers never recorded, under another NIK in another regency
    again = make_payload(_mix(people, face_of=(2, 2), fingers_of=(3, 1)), nik="1872014203850009",
                         office_code="18.72", **kw)
    # a namesake born the same day: another face (ORL s5) and other fingers
    namesake = make_payload(_mix(people, face_of=(5, 1), fingers_of=(4, 1)), nik="1801054203850011", **kw)
    # the control: Sri's face again (a third photo), other fingers, other data: the face alone decides nothing
    control = make_payload(_mix(people, face_of=(2, 3), fingers_of=(1, 1)), nik="1801056011920012",
                           name="Rina Marlina", sex="P", birth_date="1992-11-20")
    for p in (first, again, namesake, control):
        central.receive(p)
    assert [o.outcome for o in central.worker.drain()] == ["PRINT_READY", "ADJUDICATION", "PRINT_READY",
                                                           "PRINT_READY"]
    with db.unit_of_work() as s:
        items = s.scalars(select(AdjudicationRow)).all()
        jobs = {j.record_id: j.results for j in s.scalars(select(PipelineJobRow))}
    assert [(i.record_id, i.candidate_id, i.reason) for i in items] == [
        (again["enrollment_id"], first["enrollment_id"], "demographic_face")]
    bio = jobs[again["enrollment_id"]]["biometric"]
    assert bio["candidates"] == [] and [c["reference_id"] for c in bio["verified"]] == [first["enrollment_id"]]
    assert bio["verified"][0]["normalised"]["face"] >= conflict.DEMOGRAPHIC_FACE_Z
    assert items[0].urgency >= 50 and items[0].demographic["probability"] >= conflict.DEMOGRAPHIC_SAME_P
    # the namesake's data name both earlier records too, but no face agrees: printed
    named = jobs[namesake["enrollment_id"]]["biometric"]["verified"]
    assert {c["reference_id"] for c in named} == {first["enrollment_id"], again["enrollment_id"]}
    assert all(c["normalised"]["face"] < conflict.DEMOGRAPHIC_FACE_Z for c in named)
    assert jobs[control["enrollment_id"]]["biometric"]["verified"] == []  # nobody named: nothing scored 1:1

    from ktpel.security.access import Role
    from ktpel.web.app import create_app
    from tests.auth_fixtures import authed_client

    client = authed_client(create_app(settings=settings, side="central", db=db), db, Role.ADJUDICATOR)
    assert "data &amp; wajah sama" in client.get("/adjudikasi").text
    page = client.get(f"/adjudikasi/{items[0].id}").text
    assert "data kependudukan dan wajah sama" in page and "sidik jari tidak menguatkan" in page


def test_demographics_name_a_person_only_with_a_face_far_above_chance():
    from ktpel.central.pipeline.conflict import DEMOGRAPHIC_FACE_Z, DEMOGRAPHIC_SAME_P, demographic_face

    strong = {"face": DEMOGRAPHIC_FACE_Z, "finger_1": 0.3}
    assert demographic_face(strong, probability=DEMOGRAPHIC_SAME_P, named=1)
    assert not demographic_face(strong, probability=DEMOGRAPHIC_SAME_P - 0.01, named=1)  # the data are not enough
    assert not demographic_face({"face": DEMOGRAPHIC_FACE_Z - 0.01}, probability=0.999, named=1)  # namesakes
    assert not demographic_face({"finger_1": 9.0}, probability=0.999, named=1)  # no face compared: no evidence
    # weak data name ten records: among ten strangers a face reaches z 4 ten times as often, so the bar is z 5
    assert not demographic_face({"face": DEMOGRAPHIC_FACE_Z + 0.99}, probability=0.999, named=10)
    assert demographic_face({"face": DEMOGRAPHIC_FACE_Z + 1.0}, probability=0.999, named=10)


def test_every_adjudication_reason_has_its_queue_label():
    from ktpel.central.adjudication.service import REASONS, REASONS_SHORT
    from ktpel.central.pipeline.stages import DEMOGRAPHIC_FACE

    assert set(REASONS_SHORT) == set(REASONS) and DEMOGRAPHIC_FACE in REASONS
