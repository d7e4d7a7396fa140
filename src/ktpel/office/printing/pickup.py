"""Card pickup (pengambilan KTP-El): a live 1:1 check against the enrolled template before hand-over.

Fingerprint first; face only where the resident's prints cannot be read (worn, injured), and the operator
must say why. Every check is stored and audited, matched or not; only a match issues the card.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from ktpel.domain.enrollment import CardState
from ktpel.domain.errors import KtpelError
from ktpel.domain.events import utcnow
from ktpel.office.printing.queue import _card_of
from ktpel.office.printing.repository import Cards
from ktpel.security.audit import record_audit
from ktpel.store.db import Database
from ktpel.store.schema.printing import PickupCheckRow
from ktpel.office.sync.outbox import enqueue_packet


class PickupRefused(KtpelError):
    """The live biometric did not match the enrolled one: the card is not handed over."""

    code = "pickup_not_matched"
    http_status = 403


class PickupNotPossible(KtpelError):
    code = "pickup_not_possible"
    http_status = 409


@dataclass(frozen=True)
class PickupResult:
    card_id: str
    matched: bool
    score: float | None
    modality: str
    state: str


def _probe_and_refs(*, templates: dict[str, bytes], image: bytes, modality: str, finger_position: int):  # noqa: ANN202
    from ktpel.biometrics import get_engine

    engine = get_engine()
    if modality == "face":
        ref = templates.get("face")
        if ref is None:
            raise PickupNotPossible("Tidak ada foto wajah terekam untuk dicocokkan.",
                                    "No enrolled face to compare with.")
        return engine.extract_face(image), [ref]
    key = f"finger_{finger_position}"
    if key not in templates:
        raise PickupNotPossible(f"Sidik jari nomor {finger_position} tidak terekam; pakai jari lain.",
                                f"Finger {finger_position} was not enrolled; use another finger.")
    return engine.extract_finger(image, finger_position=finger_position), [templates[key]]


def verify_and_issue(db: Database, *, card_id: str, regency_code: str, image: bytes, actor: str,
                     modality: str = "finger", finger_position: int = 2, face_reason: str = "",
                     source_ip: str | None = None) -> PickupResult:
    """Compare a live capture with the enrolled template; issue the card only on a match (both audited)."""
    from ktpel.biometrics import BiometricError
    from ktpel.office.enrollment.service import enrolled_templates

    if modality not in ("finger", "face"):
        raise PickupNotPossible("Modalitas harus sidik jari atau wajah.", "Modality must be finger or face.")
    if modality == "face" and not face_reason.strip():
        raise PickupNotPossible("Wajah hanya dipakai bila sidik jari tidak terbaca: tulis alasannya.",
                                "Face is used only where prints fail: give the reason.")
    with db.unit_of_work() as s:
        card, _ = _card_of(s, card_id=card_id, regency_code=regency_code)
        if card.state != CardState.PRINTED.value:
            raise PickupNotPossible(f"Kartu berstatus '{CardState(card.state).label_id}': tidak bisa diserahkan.",
                                    f"The card is {card.state}: it cannot be handed over.")
        templates = enrolled_templates(s, enrollment_id=card.enrollment_id)
    try:
        probe, refs = _probe_and_refs(templates=templates, image=image, modality=modality,
                                      finger_position=finger_position)
        from ktpel.biometrics import get_engine

        matched, score = get_engine().verify(probe, refs)
        note = face_reason.strip()
    except BiometricError as exc:
        matched, score, note = False, None, f"{exc.code}: {exc.message_en}"
    with db.unit_of_work() as s:
        card, _ = _card_of(s, card_id=card_id, regency_code=regency_code)
        s.add(PickupCheckRow(card_id=card_id, modality=modality,
                             finger_position=finger_position if modality == "finger" else None,
                             score=None if score is None else float(score), matched=bool(matched),
                             note=note[:500], operator=actor, at=utcnow()))
        record_audit(s, actor=actor, action="pickup.verified" if matched else "pickup.refused",
                     subject=f"card:{card_id}", after={"modality": modality, "matched": bool(matched),
                                                       "score": None if score is None else round(float(score), 2)},
                     source_ip=source_ip)
        if matched:
            cards = Cards(s)
            machine = cards.machine_of(card)
            machine.issue(handed_over_by=actor)
            card.issued_at, card.issued_by = utcnow(), actor
            cards.save(machine)
            _report_issued(s, card_id=card.id, actor=actor)
            record_audit(s, actor=actor, action="card.issued", subject=f"card:{card_id}",
                         before={"state": CardState.PRINTED.value}, after={"state": card.state, "issued_by": actor},
                         source_ip=source_ip)
        state = card.state
    if not matched:
        raise PickupRefused(
            "Biometrik tidak cocok dengan data rekam: kartu TIDAK diserahkan." + (f" ({note})" if note else ""),
            "The live biometric does not match the enrollment: the card is NOT handed over."
            + (f" ({note})" if note else ""))
    return PickupResult(card_id=card_id, matched=True, score=score, modality=modality, state=state)


def _report_issued(session: Session, *, card_id: str, actor: str) -> None:
    enqueue_packet(session, kind="card.issued", subject_id=card_id,
                   payload={"card_id": card_id, "issued_at": utcnow().isoformat(), "issued_by": actor})
