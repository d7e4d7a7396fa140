"""Office printing's reaction to central's events: the card of a PRR enrollment, a revoked card, blanks.

Registered in `ktpel.office.composition`, run by sync in the transaction that advances its cursor.
The Card machine decides every transition; the repository saves state, events and audit (`sync:central`).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from ktpel.domain.enrollment import Card, CardState
from ktpel.office.enrollment.central_events import signed_card
from ktpel.office.printing import ledger
from ktpel.office.printing.repository import Cards
from ktpel.security.audit import record_audit
from ktpel.store.schema.core import EnrollmentRow
from ktpel.sync.wiring import HandlerContext

ACTOR = "sync:central"


def on_print_ready(session: Session, *, context: HandlerContext, seq: int, kind: str, subject_id: str,
                   data: dict) -> None:
    """`enrollment.print_ready`: the card row holds central's signed print authorisation (AUTHORISED)."""
    enrollment = session.get(EnrollmentRow, subject_id)
    if enrollment is None:
        return
    token, card_id = data["authorisation"], str(signed_card(data)["card_id"])
    cards = Cards(session)
    card = cards.of_enrollment(enrollment.id)
    if card is None:
        card = Card(id=card_id)
        card.authorise(authorisation_id=card_id)
        cards.add(card, enrollment_id=enrollment.id, resident_id=enrollment.resident_id, authorisation=token)
        cards.save(card, actor=ACTOR)
    elif card.state in (CardState.AUTHORISED, CardState.PRINT_READY):
        # a newer authorisation (the kept record of a data-ganda case) replaces the one held
        if card.can("authorise"):
            card.authorise(authorisation_id=card_id)
        cards.row(card).authorisation = token
        cards.save(card)


def on_revocation(session: Session, *, context: HandlerContext, seq: int, kind: str, subject_id: str,
                  data: dict) -> None:
    """`revocation`: the other record of a resolved duplicate; its card is blocked (diblokir)."""
    cards = Cards(session)
    card = cards.of_enrollment(data.get("enrollment_id", subject_id))
    if card is None and data.get("card_id"):
        card = cards.get(data["card_id"])
    if card is not None and card.state is not CardState.REVOKED:
        card.revoke(reason=str(data.get("reason", "")))
        cards.save(card, actor=ACTOR)


def apply_blanks_allocated(session: Session, *, context: HandlerContext, seq: int, kind: str, subject_id: str,
                           data: dict) -> None:
    """Office side of `blanks.allocated`: central's batch for this office is booked into the ledger once."""
    if not data.get("first_serial") or not int(data.get("count") or 0):
        return
    ledger.receive_batch(session, first_serial=data["first_serial"], last_serial=data["last_serial"],
                         actor="pusat", source="central", allocation_ref=f"{data.get('plan_id')}:{subject_id}")
    record_audit(session, actor="pusat", action="blanks.received", subject=f"allocation:{subject_id}",
                 after={"first": data["first_serial"], "last": data["last_serial"], "count": data["count"]})
