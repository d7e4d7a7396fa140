"""The pipeline stages: validate → quality → demographic → biometric → decide.

Each stage reads what earlier stages wrote into the job's `results`, writes its own entry, and moves
the job on, in one transaction; running a stage twice gives the same result, so a job retried after
a crash simply resumes. Only `decide` changes a record's state and publishes to the office, in the
same transaction as the job's completion: an office never sees a decision twice.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from typing import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from ktpel.biometrics.abis import Verifies
from ktpel.biometrics.errors import CorruptTemplate
from ktpel.biometrics.fingerprint.extract import MIN_MINUTIAE
from ktpel.biometrics.fusion import Band
from ktpel.biometrics.templates import FaceTemplate, FingerTemplate, template_from_bytes
from ktpel.central.dedup import service as dedup
from ktpel.central.dedup.blocking import index_name
from ktpel.central.dedup.phonetic import name_key
from ktpel.central.pipeline import payload as packet
from ktpel.central.pipeline import ports
from ktpel.central.pipeline.conflict import DEMOGRAPHIC_SAME_P, demographic_face
from ktpel.central.pipeline.gallery import GalleryMirror, take_gallery_seq
from ktpel.central.records import NationalRecords, images_in_packet
from ktpel.config import Settings
from ktpel.domain.identifying_fingers import short_of
from ktpel.domain.national_record import NationalRecord
from ktpel.domain.events import utcnow
from ktpel.store.schema.central import AdjudicationRow, NationalRecordRow, PipelineJobRow, RetiredNikRow

MAX_CANDIDATES = 5
DEMOGRAPHIC_FACE = "demographic_face"  # adjudication reason: the data name this person, the face agrees
FINGERS = tuple(f"finger_{i}" for i in range(1, 11))


@dataclass
class StageContext:
    """What stages need besides the session: settings, the worker's gallery, who runs them."""

    settings: Settings
    mirror: GalleryMirror
    db_key: str
    worker_id: str = "worker"
    extra: dict = field(default_factory=dict)
    clock: Callable[[], dt.datetime] = utcnow  # what stages stamp decisions with (tests hand in their own)


# -- validate ------------------------------------------------------------------------------------

def validate(session: Session, job: PipelineJobRow, ctx: StageContext) -> dict:
    """Parse the packet strictly and store the national record (poison → PoisonPacket)."""
    try:
        raw = json.loads(job.payload)
    except ValueError:
        raise packet.PoisonPacket("Paket rusak: isi bukan JSON.", "Malformed packet: payload is not JSON.") from None
    held = isinstance(raw, dict) and raw.pop(packet.IMAGES_HELD, False) is True
    if held:  # the images are read (and checked) where sync holds them, never copied
        raw["images"] = ports.held_images(session, packet_id=job.packet_id)
        if raw["images"] is None:
            raise packet.PoisonPacket("Gambar paket tidak ada di pusat.",
                                      f"The images of packet {job.packet_id} are not held by central.")
    p = packet.parse(raw, packet_office=job.office_code, subject_id=job.record_id)
    r = p.resident
    row = session.get(NationalRecordRow, p.enrollment_id)
    if row is None:
        row = NationalRecords(session).add(NationalRecord(id=p.enrollment_id), packet_id=job.packet_id)
    row.packet_id = job.packet_id
    row.office_code = p.office_code
    row.receipt_number = p.receipt_number
    row.nik = r["nik"]
    row.kk_number = r.get("kk_number") or ""
    row.name = r["name"]
    row.birth_place = r["birth_place"]
    row.birth_date = p.birth_date
    row.sex = r["sex"]
    row.blood_type = (r.get("blood_type") or "-")[:2]
    row.street = r.get("street") or ""
    row.rt, row.rw = (r.get("rt") or "")[:3], (r.get("rw") or "")[:3]
    row.village_code = r.get("village_code") or ""
    row.religion = r.get("religion") or ""
    row.marital_status = r.get("marital_status") or ""
    row.occupation = r.get("occupation") or ""
    row.citizenship = r.get("citizenship") or "WNI"
    row.father_name = r.get("father_name") or ""
    row.mother_name = r.get("mother_name") or ""
    row.name_key = name_key(r["name"])
    row.templates = json.dumps({k: base64.b64encode(_positioned(k, v)).decode("ascii")
                                for k, v in p.templates.items()})
    row.images = (images_in_packet(packet_id=job.packet_id, keys=list(p.images), types=p.image_types) if held
                  else _images_json(images=p.images, types=p.image_types))
    row.exceptions = p.exceptions
    row.captured_at = p.captured_at
    if p.images and not held:
        # a job that came with its images (no packet held by sync): the record holds them now and the job
        # keeps its packet without them (this transaction moves the job past validate: no retry needs them)
        job.payload = json.dumps({**raw, "images": {}, "image_types": {}}, ensure_ascii=False)
    session.flush()
    index_name(session, record_id=row.id, name=row.name, birth_year=row.birth_date.year)
    retired = session.get(RetiredNikRow, row.nik)
    return {"nik_retired": retired is not None, "retired_case": retired.case_id if retired else None}


def _images_json(*, images: dict[str, str], types: dict[str, str]) -> str:
    """`{"data": images, "types": types}` as JSON. The packet model admits only base64 text, which needs no
    escaping, so a packet's megabytes are joined once, not scanned a character at a time as json.dumps does."""
    parts = ['{"data":{']
    for i, (kind, text) in enumerate(images.items()):
        parts += ["," if i else "", json.dumps(kind), ':"', text, '"']
    parts += ['},"types":', json.dumps(types), "}"]
    return "".join(parts)


def _positioned(key: str, blob: bytes) -> bytes:
    """A finger template carries its ISO position (the packet key says it): the 1:N then compares
    finger with same finger, instead of every finger with every finger, which inflates impostor scores."""
    if not key.startswith("finger_"):
        return blob
    try:
        t = template_from_bytes(blob)
    except CorruptTemplate:
        return blob  # the quality stage reports it
    if isinstance(t, FingerTemplate) and t.finger_position == 0:
        t.finger_position = int(key[7:])
        return t.to_bytes()
    return blob


# -- quality -------------------------------------------------------------------------------------

def quality(session: Session, job: PipelineJobRow, ctx: StageContext) -> dict:
    """Templates parse and carry enough detail; every missing finger is declared (else EFAC)."""
    row = session.get(NationalRecordRow, job.record_id)
    reasons: list[dict] = []
    templates = {k: base64.b64decode(v) for k, v in json.loads(row.templates).items()}
    exceptions = row.exceptions or {}
    if "face" not in templates:
        reasons.append({"id": "Foto wajah tidak ada.", "en": "No face template."})
    usable = 0
    minutiae: dict[int, int] = {}  # finger position -> minutiae, for the thumbs' count below
    for key, blob in templates.items():
        try:
            t = template_from_bytes(blob)
        except CorruptTemplate as exc:
            reasons.append({"id": f"Templat {key} rusak ({exc}).", "en": f"Template {key} is corrupt ({exc})."})
            continue
        if key == "face" and not isinstance(t, FaceTemplate) or key != "face" and not isinstance(t, FingerTemplate):
            reasons.append({"id": f"Templat {key} jenisnya salah.", "en": f"Template {key} has the wrong modality."})
            continue
        if isinstance(t, FingerTemplate):
            minutiae[int(key[7:])] = len(t.minutiae)
            if t.finger_position != int(key[7:]):
                reasons.append({"id": f"Templat {key} berisi jari posisi {t.finger_position}.",
                                "en": f"Template {key} holds finger position {t.finger_position}."})
            elif len(t.minutiae) < MIN_MINUTIAE:
                # central's own biometric threshold (EFAC); every other reason is in what the office sent (EFAR)
                reasons.append({"id": f"Sidik jari {key[7:]} terlalu sedikit minusi ({len(t.minutiae)}).",
                                "en": f"Finger {key[7:]} has too few minutiae ({len(t.minutiae)}).", "at": "central"})
            else:
                usable += 1
    for key in FINGERS:
        if key not in templates and key not in exceptions:
            reasons.append({"id": f"Sidik jari {key[7:]} tidak ada dan tidak diberi keterangan.",
                            "en": f"Finger {key[7:]} is missing without a declared exception."})
    row.short_thumbs = len(short_of(minutiae))
    return {"ok": not reasons, "reasons": reasons, "usable_fingers": usable}


# -- demographic ---------------------------------------------------------------------------------

def demographic(session: Session, job: PipelineJobRow, ctx: StageContext) -> dict:
    """NIK collisions and Fellegi–Sunter candidates: to explain and prioritise, never to reject."""
    if not job.results.get("quality", {}).get("ok", False):
        return {"skipped": True, "candidates": []}
    row = session.get(NationalRecordRow, job.record_id)
    model = dedup.current_model(session, db_key=ctx.db_key, trained_by=ctx.worker_id)
    found = dedup.find_candidates(session, record=row, model=model)
    return {"candidates": [m.as_dict() for m in found],
            "nik_collisions": [m.other_id for m in found if m.nik_collision]}


# -- biometric -----------------------------------------------------------------------------------

def enter_gallery(session: Session, job: PipelineJobRow, ctx: StageContext) -> dict:
    """First half of the biometric stage: the record takes its gallery number (committed before 1:N)."""
    row = session.get(NationalRecordRow, job.record_id)
    if not job.results.get("quality", {}).get("ok", False) or job.results.get("validate", {}).get("nik_retired"):
        return {"skipped": True}
    return {"gallery_seq": take_gallery_seq(session, record=row)}


def named_by_demographics(results: dict) -> list[str]:
    """The records the demographic stage names as this person on their data alone (conflict.demographic_face)."""
    return [c["other_id"] for c in results.get("demographic", {}).get("candidates", [])
            if float(c.get("probability", 0.0)) >= DEMOGRAPHIC_SAME_P]


def search(session: Session, *, record_id: str, ctx: StageContext, named: Sequence[str] = ()) -> dict:
    """The 1:N search itself: refresh the gallery, identify the probe (reads only). `named`: records the
    demographics name as this person; those the 1:N did not return are scored 1:1 (`verified`), when the
    ABIS can (Abis.verify), so that decide weighs their face against a handful, not the gallery."""
    import time

    started = time.perf_counter()
    row = session.get(NationalRecordRow, record_id)
    # parsed once: the probe enters the mirror as these objects, so its features are computed once
    probe = [template_from_bytes(base64.b64decode(v)) for v in json.loads(row.templates).values()]
    ctx.mirror.refresh(session, parsed={row.id: probe})
    # an ABIS failure raises: the job is retried, then dead-lettered — never a silent PRR
    # the probe's own record is in the gallery (it took its number before the search): searched as
    # absent, it takes no candidate's place and costs no 1:1 score on every finger
    response = ctx.mirror.abis.identify(probe, max_candidates=MAX_CANDIDATES, exclude=row.id)
    cands = [c.to_dict() for c in response.candidates]
    listed = {c["reference_id"] for c in cands}
    missing = [r for r in named if r not in listed and r != row.id]
    abis = ctx.mirror.abis
    verified = []
    if missing and isinstance(abis, Verifies):  # an ABIS without 1:few skips the check
        verified = [c.to_dict() for c in abis.verify(probe, missing)]
    # the band the decide stage applies: moved up with the gallery's size (conflict.review_z_at)
    size = int(row.gallery_seq or 1)
    decision = max((_band_for(c, gallery_size=size) for c in cands), key=_band_rank, default=Band.NO_HIT)
    return {"decision": decision.value, "candidates": cands, "verified": verified,
            "search_ms": round((time.perf_counter() - started) * 1000, 1)}


def biometric(session: Session, job: PipelineJobRow, ctx: StageContext) -> dict:
    """1:N of the face and every finger through the ABIS contract; fused scores and band.

    The worker runs `search` before this stage's write transaction (SQLite has one writer: intake
    must not wait seconds behind a search); here the result is only recorded.
    """
    if "gallery_seq" not in job.results.get("gallery", {}):
        return {"skipped": True, "decision": Band.NO_HIT.value, "candidates": []}
    done = ctx.extra.pop(("search", job.id), None)
    return done if done is not None else search(session, record_id=job.record_id, ctx=ctx,
                                                named=named_by_demographics(job.results))


def _band_rank(b: Band) -> int:
    return {Band.NO_HIT: 0, Band.REVIEW: 1, Band.HIT: 2}[b]


# -- decide --------------------------------------------------------------------------------------

def decide(session: Session, job: PipelineJobRow, ctx: StageContext) -> dict:
    """PRR, adjudication or EFAC; publish the decision to the office in this same transaction."""
    records = NationalRecords(session)
    record = records.get(job.record_id)
    if record.decided:  # decided before a crash lost the job's bookkeeping: nothing twice
        return {"outcome": record.state.value, "replayed": True}
    row = records.row(record)
    res = job.results
    v, q = res.get("validate", {}), res.get("quality", {})
    now = ctx.clock()
    if v.get("nik_retired"):
        reason = {"id": f"NIK {row.nik} sudah dicabut karena data ganda (kasus {v.get('retired_case')}); "
                        "gunakan NIK yang dipertahankan.",
                  "en": f"NIK {row.nik} was retired by a duplicate resolution (case {v.get('retired_case')}); "
                        "use the NIK that was kept."}
        return _fail(records, record, reasons=[reason], now=now)
    if not q.get("ok", False):
        return _fail(records, record, reasons=q.get("reasons", []), now=now)
    demo = {c["other_id"]: c for c in res.get("demographic", {}).get("candidates", [])}
    bio = res.get("biometric", {})
    items: dict[str, dict] = {}
    gallery_size = int(res.get("gallery", {}).get("gallery_seq") or 1)
    named = len(named_by_demographics(res))
    for c in [*bio.get("candidates", []), *bio.get("verified", [])]:
        reason, conflict = _reason_of(c, gallery_size=gallery_size)
        if conflict is not None:  # a person must look, whatever the fused band says
            items[c["reference_id"]] = {"reason": reason, "band": c["band"], "fused": c["fused"],
                                        "scores": {**c, "conflict": conflict}}
        elif reason is not None:  # the band moved up with the gallery (conflict.review_z_at)
            items[c["reference_id"]] = {"reason": reason, "band": reason.removeprefix("biometric_"),
                                        "fused": c["fused"], "scores": c}
        elif demographic_face(c.get("normalised") or {}, named=named,
                              probability=float(demo.get(c["reference_id"], {}).get("probability", 0.0))):
            # the data name this person and the face agrees far above chance among the few they block
            items[c["reference_id"]] = {"reason": DEMOGRAPHIC_FACE, "band": "review", "fused": c["fused"],
                                        "scores": c}
    for other in res.get("demographic", {}).get("nik_collisions", []):
        items.setdefault(other, {"reason": "nik_collision", "band": "", "fused": 0.0, "scores": {}})
    if items:
        return _to_adjudication(records, record, items=items, demo=demo, now=now)
    return _print_ready(records, record, settings=ctx.settings, now=now)


def _band_for(candidate: dict, *, gallery_size: int) -> Band:
    """A candidate's fused band as decide reads it (moved up with the gallery's size)."""
    from ktpel.biometrics import get_engine
    from ktpel.central.pipeline.conflict import band_at, decision_scores

    cal = get_engine().calibration
    _, fused = decision_scores(candidate.get("normalised") or {}, fused=float(candidate["fused"]), fuse=cal.fuse,
                               finger_measured_z=cal.modalities["finger"].measured_z)
    return Band(band_at(fused, gallery_size=gallery_size, review_z=cal.review_z, hit_z=cal.hit_z))


def _reason_of(candidate: dict, *, gallery_size: int) -> tuple[str | None, str | None]:
    from ktpel.biometrics import get_engine
    from ktpel.central.pipeline.conflict import person_reason

    cal = get_engine().calibration
    return person_reason(candidate.get("normalised") or {}, fused=float(candidate["fused"]), fuse=cal.fuse,
                         review_z=cal.review_z, hit_z=cal.hit_z, gallery_size=gallery_size,
                         finger_measured_z=cal.modalities["finger"].measured_z)


def _fail(records: NationalRecords, record: NationalRecord, *, reasons: list[dict], now) -> dict:  # noqa: ANN001
    row = records.row(record)
    record.fail(reason=" ".join(r["id"] for r in reasons))
    row.failure_reason = " ".join(r["id"] for r in reasons)
    row.decided_at = now
    records.save(record)
    at = "central" if reasons and all(r.get("at") == "central" for r in reasons) else "regional"
    ports.publish(records.session, office_code=row.office_code, kind="enrollment.failed", subject_id=row.id,
                  data={"reason": row.failure_reason, "reason_en": " ".join(r["en"] for r in reasons), "at": at})
    return {"outcome": record.state.value, "reasons": reasons}


def card_of(row: NationalRecordRow, *, card_id: str, issued_at: str) -> dict:
    """The card fields a print authorisation signs (CONTRACTS.md)."""
    return {
        "card_id": card_id, "enrollment_id": row.id, "nik": row.nik, "name": row.name,
        "birth_place": row.birth_place, "birth_date": row.birth_date.isoformat(), "sex": row.sex,
        "blood_type": row.blood_type, "street": row.street, "rt": row.rt, "rw": row.rw,
        "village_code": row.village_code, "religion": row.religion, "marital_status": row.marital_status,
        "occupation": row.occupation, "citizenship": row.citizenship,
        "regency_code": row.office_code, "issued_at": issued_at,
    }


def _print_ready(records: NationalRecords, record: NationalRecord, *, settings: Settings, now) -> dict:  # noqa: ANN001
    publish_print_ready(records, record=record, settings=settings, now=now)
    return {"outcome": record.state.value, "card_id": records.row(record).card_id}


def publish_print_ready(records: NationalRecords, *, record: NationalRecord, settings: Settings, now,  # noqa: ANN001
                        case_id: str | None = None) -> str:
    """Mark a record PRR (or keep it after a data-ganda case), sign its print authorisation, tell its office."""
    row = records.row(record)
    row.card_id = "C-" + uuid.uuid4().hex[:20]
    token = ports.issue_authorisation(settings=settings, card=card_of(row, card_id=row.card_id,
                                                                      issued_at=now.isoformat()))
    if case_id is None:
        record.mark_print_ready(card_id=row.card_id)
    else:
        record.keep_after_resolution(case_id=case_id, card_id=row.card_id)
    row.decided_at = now
    records.save(record)
    extra = {} if case_id is None else {"case_id": case_id}
    ports.publish(records.session, office_code=row.office_code, kind="enrollment.print_ready", subject_id=row.id,
                  data={"authorisation": token, "card_id": row.card_id, **extra})
    return token


def urgency(*, band: str, fused: float, demographic_probability: float, nik_collision: bool,
            conflict: bool = False) -> float:
    """Higher first: biometric hits, then strong demographic agreement (age is added at query time)."""
    base = {"hit": 100.0, "review": 50.0}.get(band, 30.0 if nik_collision else 10.0)
    if conflict:
        base = max(base, 50.0)  # a modality conflict is at least a review, whatever the fused band
    return round(base + min(fused, 40.0) + 20.0 * demographic_probability, 3)


def _to_adjudication(records: NationalRecords, record: NationalRecord, *, items: dict, demo: dict,
                     now) -> dict:  # noqa: ANN001
    session, row = records.session, records.row(record)
    made = []
    for other_id, item in items.items():
        exists = session.scalar(select(AdjudicationRow.id).where(
            AdjudicationRow.record_id == row.id, AdjudicationRow.candidate_id == other_id))
        if exists:
            made.append(exists)
            continue
        d = demo.get(other_id, {})
        adj = AdjudicationRow(
            id="ADJ-" + uuid.uuid4().hex[:16], record_id=row.id, candidate_id=other_id,
            reason=item["reason"], band=item["band"], fused_z=float(item["fused"]), scores=item["scores"],
            demographic=d, status="open", created_at=now,
            urgency=urgency(band=item["band"], fused=float(item["fused"]),
                            demographic_probability=float(d.get("probability", 0.0)),
                            nik_collision=bool(d.get("nik_collision")),
                            conflict=item["reason"] in ("modality_conflict", DEMOGRAPHIC_FACE)),
        )
        session.add(adj)
        made.append(adj.id)
    record.send_to_adjudication(candidates=len(made))
    row.decided_at = now
    records.save(record)
    ports.publish(session, office_code=row.office_code, kind="enrollment.adjudication", subject_id=row.id,
                  data={"candidates": len(made), "reasons": sorted({i["reason"] for i in items.values()})})
    return {"outcome": record.state.value, "adjudications": made}


# stage name -> function, in order (the queue's STAGES)
HANDLERS = {"validate": validate, "quality": quality, "demographic": demographic, "gallery": enter_gallery,
            "biometric": biometric, "decide": decide}
