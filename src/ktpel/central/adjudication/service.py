"""Adjudication: people decide what the matcher only suspects, with four eyes for "same person".

States of an item: `open` → (`different`: final, by one adjudicator) | `confirming` (one said "same
person") → `same` (a second, different adjudicator agreed) | `open` again (the second disagreed; a
third decides). Every write is a compare-and-set on the item's version, so a double click or two
adjudicators on one item give a clear error and nothing is lost or applied twice.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ktpel.central.pipeline import ports
from ktpel.central.pipeline.stages import publish_print_ready
from ktpel.central import records
from ktpel.central.records import NationalRecords
from ktpel.central.resolution.service import open_case_from_adjudication
from ktpel.config import Settings
from ktpel.domain.errors import KtpelError, NotFound
from ktpel.domain.events import utcnow
from ktpel.domain.national_record import NationalRecordState
from ktpel.store.schema.central import AdjudicationRow, NationalRecordRow

SAME, DIFFERENT = "same", "different"
OPEN_STATES = ("open", "confirming")
COMPARED_FIELDS = ("nik", "name", "birth_place", "birth_date", "sex", "kk_number", "father_name", "mother_name",
                   "street", "rt", "rw", "village_code", "religion", "marital_status", "occupation")
# why an item is in the queue: (Bahasa Indonesia, English)
REASONS = {
    "biometric_hit": ("biometrik: cocok", "biometric hit"),
    "biometric_review": ("biometrik: perlu diperiksa", "biometric review"),
    "nik_collision": ("NIK sama", "same NIK"),
    "modality_conflict": ("konflik modalitas: satu biometrik cocok, yang lain jelas tidak",
                          "modality conflict: one biometric matches, another clearly does not"),
    "demographic_face": ("data kependudukan dan wajah sama", "same demographics and face"),
}
# the same, as the queue's column shows it
REASONS_SHORT = {
    "biometric_hit": ("biometrik: cocok", "biometric hit"),
    "biometric_review": ("biometrik: perlu diperiksa", "biometric review"),
    "nik_collision": ("NIK sama", "same NIK"),
    "modality_conflict": ("konflik modalitas", "modality conflict"),
    "demographic_face": ("data & wajah sama", "same data & face"),
}
# what the adjudicator should weigh, by reason (a modality conflict's note is by its kind, below)
REASON_NOTES = {
    "demographic_face": ("Nama, tanggal lahir dan data keluarga menunjuk orang yang sama dan wajahnya mirip jauh di "
                         "atas kebetulan, tetapi sidik jari tidak menguatkan: kemungkinan orang yang sama direkam "
                         "dua kali dengan sidik jari lain (salah rekam, atau sidik jari orang lain direkam), atau "
                         "kembar. Periksa foto dan sidik jari.",
                         "Name, birth date and family data point to the same person and the face agrees far above "
                         "chance, but the fingers do not confirm it: possibly the same person recorded twice with "
                         "other fingers (a capture mistake, or someone else's fingers captured), or twins. Check "
                         "the photos and fingers."),
}
CONFLICT_NOTES = {
    "face_only": ("Wajah sama, sidik jari berbeda: kemungkinan kembar, salah rekam, atau sidik jari orang lain "
                  "direkam (penipuan). Periksa dengan teliti.",
                  "Same face, different fingers: possibly twins, a capture mistake, or someone else's fingers "
                  "captured (fraud). Check carefully."),
    "finger_only": ("Sidik jari sama, wajah berbeda: orang yang sama dengan foto lain (usia, kacamata, kamera), "
                    "atau wajah orang lain dengan sidik jari yang sama.",
                    "Same fingers, different face: the same person with another photo (age, glasses, camera), "
                    "or another person's face with the same fingers."),
}
AGE_WEIGHT_PER_HOUR = 1.0  # an item waiting 2 days outranks a fresh biometric hit


class AlreadyDecided(KtpelError):
    """Someone (or this same click, twice) decided the item first."""

    code = "already_decided"
    http_status = 409


class FourEyes(KtpelError):
    """The adjudicator who said "same person" cannot confirm it too."""

    code = "four_eyes"
    http_status = 409


class DecisionInvalid(KtpelError):
    code = "decision_invalid"
    http_status = 422


@dataclass(frozen=True)
class QueueItem:
    id: str
    record_id: str
    candidate_id: str
    reason: str
    band: str
    fused_z: float
    status: str
    first_by: str | None
    created_at: dt.datetime
    priority: float
    age_hours: float
    demographic_probability: float

    @property
    def reason_short(self) -> tuple[str, str]:
        """Why it is in the queue, short: (Bahasa Indonesia, English)."""
        return REASONS_SHORT.get(self.reason, (self.reason, self.reason))


def queue(session: Session, *, limit: int = 100, now: dt.datetime | None = None) -> list[QueueItem]:
    """Open items, most urgent first: urgency (hits, strong demographics) plus waiting time."""
    now = now or utcnow()
    rows = session.scalars(select(AdjudicationRow).where(AdjudicationRow.status.in_(OPEN_STATES))
                           .order_by(AdjudicationRow.created_at).limit(2000)).all()
    items = []
    for r in rows:
        age = (now - r.created_at).total_seconds() / 3600
        items.append(QueueItem(r.id, r.record_id, r.candidate_id, r.reason, r.band, r.fused_z, r.status,
                               r.first_by, r.created_at, round(r.urgency + AGE_WEIGHT_PER_HOUR * age, 2),
                               round(age, 2), float((r.demographic or {}).get("probability", 0.0))))
    items.sort(key=lambda i: (-i.priority, i.created_at))
    return items[:limit]


def _record_view(row: NationalRecordRow) -> dict:
    return {
        "id": row.id, "office_code": row.office_code, "state": row.state,
        "captured_at": row.captured_at, "received_at": row.received_at,
        "fields": {f: (getattr(row, f).isoformat() if f == "birth_date" else getattr(row, f)) for f in COMPARED_FIELDS},
        "images": records.image_keys(row),
        "templates": sorted(json.loads(row.templates).keys()),
        "exceptions": row.exceptions or {},
    }


def get_item(session: Session, *, adjudication_id: str) -> AdjudicationRow:
    row = session.get(AdjudicationRow, adjudication_id)
    if row is None:
        raise NotFound(f"Kasus adjudikasi {adjudication_id} tidak ada.",
                       f"Adjudication item {adjudication_id} does not exist.")
    return row


def compare_records(session: Session, *, adjudication_id: str) -> dict:
    """Both records side by side: fields with differences marked, per-modality scores, offices, dates."""
    item = get_item(session, adjudication_id=adjudication_id)
    probe = _record_view(session.get(NationalRecordRow, item.record_id))
    cand = _record_view(session.get(NationalRecordRow, item.candidate_id))
    diffs = {f: probe["fields"][f] != cand["fields"][f] for f in COMPARED_FIELDS}
    scores = item.scores or {}
    per_modality = []
    for key in ["face", *(f"finger_{i}" for i in range(1, 11))]:
        raw = (scores.get("raw") or {}).get(key)
        norm = (scores.get("normalised") or {}).get(key)
        per_modality.append({"key": key, "raw": raw, "normalised": norm,
                             "probe_has": key in probe["images"], "candidate_has": key in cand["images"]})
    conflict = scores.get("conflict")
    return {"item": item, "probe": probe, "candidate": cand, "diffs": diffs, "per_modality": per_modality,
            "demographic": item.demographic or {},
            "reason_label": REASONS.get(item.reason, (item.reason, item.reason)),
            "conflict": conflict, "twins": conflict == "face_only", "conflict_note": CONFLICT_NOTES.get(conflict) or REASON_NOTES.get(item.reason)}


def image_of(session: Session, *, record_id: str, key: str) -> tuple[bytes, str]:
    """One stored image of a record (face, signature, finger_N) and its content type."""
    import base64

    row = session.get(NationalRecordRow, record_id)
    found = records.image(session, row=row, key=key) if row is not None else None
    if found is None:
        raise NotFound("Gambar tidak ada.", f"No image {key} for record {record_id}.")
    return base64.b64decode(found[0]), found[1]


def _cas(session: Session, *, item: AdjudicationRow, version: int, expect: tuple[str, ...], values: dict) -> None:
    """Write only if nobody changed the item since the adjudicator loaded it."""
    done = session.execute(update(AdjudicationRow)
                           .where(AdjudicationRow.id == item.id, AdjudicationRow.version == version,
                                  AdjudicationRow.status.in_(expect))
                           .values(version=version + 1, **values))
    if done.rowcount != 1:
        session.expire(item)
        current = session.get(AdjudicationRow, item.id)
        who = current.final_by or current.first_by or "-"
        raise AlreadyDecided(
            f"Kasus ini sudah diputuskan atau diubah oleh {who} (status: {current.status}); muat ulang halaman.",
            f"This item was already decided or changed by {who} (status: {current.status}); reload the page.")
    session.expire(item)


def decide(session: Session, *, settings: Settings, adjudication_id: str, decision: str, reason: str,
           adjudicator: str, version: int, source_ip: str | None = None) -> AdjudicationRow:
    """Record one adjudicator's decision on one item, with its consequences for the probe record."""
    if decision not in (SAME, DIFFERENT):
        raise DecisionInvalid("Keputusan harus 'orang yang sama' atau 'orang berbeda'.",
                              "The decision must be 'same' or 'different'.")
    if not reason or not reason.strip():
        raise DecisionInvalid("Alasan keputusan wajib diisi.", "A reason is required.")
    reason = reason.strip()[:2000]
    item = get_item(session, adjudication_id=adjudication_id)
    before = {"status": item.status, "first_decision": item.first_decision, "first_by": item.first_by}
    now = utcnow()
    if item.status == "confirming":
        if item.first_by == adjudicator:
            raise FourEyes("Keputusan 'orang yang sama' harus dikonfirmasi oleh adjudikator lain.",
                           "'Same person' must be confirmed by a different adjudicator.")
        if decision == SAME:
            _cas(session, item=item, version=version, expect=("confirming",),
                 values={"status": "same", "final_decision": SAME, "final_by": adjudicator,
                         "final_reason": reason, "decided_at": now})
            _apply_same(session, item=item, adjudicator=adjudicator)
        else:  # the second pair of eyes disagrees: back to the queue for a third
            _cas(session, item=item, version=version, expect=("confirming",),
                 values={"status": "open", "first_decision": None, "first_by": None, "first_reason": None,
                         "first_at": None})
    elif item.status == "open":
        if decision == SAME:
            _cas(session, item=item, version=version, expect=("open",),
                 values={"status": "confirming", "first_decision": SAME, "first_by": adjudicator,
                         "first_reason": reason, "first_at": now})
        else:
            _cas(session, item=item, version=version, expect=("open",),
                 values={"status": "different", "first_decision": DIFFERENT, "first_by": adjudicator,
                         "first_reason": reason, "first_at": now, "final_decision": DIFFERENT,
                         "final_by": adjudicator, "final_reason": reason, "decided_at": now})
            _maybe_print_ready(session, settings=settings, record_id=item.record_id, now=now)
    else:
        raise AlreadyDecided(
            f"Kasus ini sudah diputuskan ({item.status}) oleh {item.final_by or item.first_by}.",
            f"This item is already decided ({item.status}) by {item.final_by or item.first_by}.")
    item = session.get(AdjudicationRow, adjudication_id)
    ports.audit(session, actor=adjudicator, action=f"adjudication.{decision}", subject=item.id, before=before,
                after={"status": item.status, "reason": reason, "record": item.record_id,
                       "candidate": item.candidate_id}, source_ip=source_ip)
    return item


def _apply_same(session: Session, *, item: AdjudicationRow, adjudicator: str) -> None:
    """DUPLICATE (data ganda): the probe's office hears it and a case opens for both offices."""
    records = NationalRecords(session)
    record = records.get(item.record_id)
    probe = records.row(record)
    cand = session.get(NationalRecordRow, item.candidate_id)
    if record.can("mark_duplicate"):
        record.mark_duplicate(other_record_id=cand.id)
        probe.decided_at = utcnow()
        records.save(record)
        ports.publish(session, office_code=probe.office_code, kind="enrollment.duplicate", subject_id=probe.id,
                      data={"other_enrollment_id": cand.id, "other_office_code": cand.office_code,
                            "score": item.fused_z,
                            # the same NIK recorded again (1:1) or one person under another NIK (1:N)
                            "match": "one_to_one" if cand.nik == probe.nik else "one_to_many"})
    # the other candidates of this probe no longer matter: the probe is a duplicate either way
    session.execute(update(AdjudicationRow)
                    .where(AdjudicationRow.record_id == probe.id, AdjudicationRow.id != item.id,
                           AdjudicationRow.status.in_(OPEN_STATES))
                    .values(status="superseded", version=AdjudicationRow.version + 1))
    open_case_from_adjudication(session, record=probe, candidate=cand, adjudication_id=item.id,
                                opened_by=f"{item.first_by}+{adjudicator}")


def _maybe_print_ready(session: Session, *, settings: Settings, record_id: str, now: dt.datetime) -> None:
    """Once every candidate of a probe is "different people", the probe is PRR."""
    pending = session.scalar(select(AdjudicationRow.id).where(
        AdjudicationRow.record_id == record_id, AdjudicationRow.status.in_((*OPEN_STATES, "same"))))
    records = NationalRecords(session)
    record = records.get(record_id)
    if pending is None and record.state is NationalRecordState.ADJUDICATION:
        publish_print_ready(records, record=record, settings=settings, now=now)
