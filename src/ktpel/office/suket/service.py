"""Issuing, renewing and revoking a Suket at the counter; its PDF; its offline verification.

Every change is logged here (the `suket` table, the audit chain, domain events) and reported to central as a
`suket.report` packet in the same transaction, so the national log follows even after an outage. Printing
the card ends the resident's active Suket (`end_for_printed_card`, called by printing).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ktpel.config import Settings
from ktpel.domain.enrollment import CardState
from ktpel.domain.errors import KtpelError, NotFound
from ktpel.domain.events import DomainEvent, utcnow
from ktpel.domain.suket import (
    REASONS, Suket, SuketPolicyMode, SuketRefused, SuketState, add_months, check_policy, status_code_for,
)
from ktpel.office import credentials
from ktpel.security.audit import record_audit
from ktpel.store.repository import store_events
from ktpel.store.schema.core import CardRow, DomainEventRow, EnrollmentRow, ResidentRow
from ktpel.store.schema.printing import PrintingSettingRow
from ktpel.store.schema.suket import SuketRow

WIB = ZoneInfo("Asia/Jakarta")  # validity dates are office (local) days
POLICY_KEY = "suket_policy"
PRINTED = (CardState.PRINTED.value, CardState.ISSUED.value)


# --- policy ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SuketPolicy:
    mode: SuketPolicyMode
    listed: frozenset[str]
    changed_by: str = ""
    changed_at: dt.datetime | None = None

    def as_dict(self) -> dict:
        return {"mode": self.mode.value, "listed": sorted(self.listed), "label_id": self.mode.label_id,
                "label_en": self.mode.label_en, "changed_by": self.changed_by,
                "changed_at": self.changed_at.isoformat() if self.changed_at else None}


def current_policy(session: Session) -> SuketPolicy:
    """The office's Suket policy; ALLOWED until the head of office decides otherwise."""
    row = session.get(PrintingSettingRow, POLICY_KEY)
    if row is None:
        return SuketPolicy(mode=SuketPolicyMode.ALLOWED, listed=frozenset())
    return SuketPolicy(mode=SuketPolicyMode(row.value["mode"]), listed=frozenset(row.value.get("listed", [])),
                       changed_by=row.changed_by, changed_at=row.changed_at)


def set_policy(session: Session, *, mode: str, listed: list[str], actor: str,
               source_ip: str | None = None) -> SuketPolicy:
    """The head of office switches the policy (allowed / only listed reasons / banned), audited."""
    try:
        mode_ = SuketPolicyMode(mode)
    except ValueError:
        raise KtpelError("Pilihan kebijakan Suket tidak dikenal.", f"Unknown Suket policy {mode!r}.",
                         code="suket_policy_invalid") from None
    unknown = sorted(set(listed) - set(REASONS))
    if unknown:
        raise KtpelError(f"Alasan tidak dikenal: {', '.join(unknown)}.", f"Unknown reasons: {', '.join(unknown)}.",
                         code="suket_policy_invalid")
    if mode_ is SuketPolicyMode.LISTED and not listed:
        raise KtpelError("Pilih minimal satu alasan yang diizinkan.", "Pick at least one allowed reason.",
                         code="suket_policy_invalid")
    before = current_policy(session)
    value = {"mode": mode_.value, "listed": sorted(set(listed)) if mode_ is SuketPolicyMode.LISTED else []}
    row = session.get(PrintingSettingRow, POLICY_KEY)
    if row is None:
        session.add(PrintingSettingRow(key=POLICY_KEY, value=value, changed_by=actor, changed_at=utcnow()))
    else:
        row.value, row.changed_by, row.changed_at = value, actor, utcnow()
    record_audit(session, actor=actor, action="suket.policy", subject=POLICY_KEY,
                 before={"mode": before.mode.value, "listed": sorted(before.listed)}, after=value,
                 source_ip=source_ip)
    session.flush()
    return current_policy(session)


# --- helpers -------------------------------------------------------------------------------------------

def _resident(session: Session, *, nik: str, regency_code: str) -> ResidentRow:
    row = session.scalar(select(ResidentRow).where(ResidentRow.nik == nik, ResidentRow.regency_code == regency_code)
                         .with_for_update())
    if row is None:
        raise NotFound(f"Penduduk dengan NIK {nik} tidak ditemukan di kantor ini.", f"No resident with NIK {nik} here.")
    return row


def _latest(session: Session, *, resident_id: int) -> tuple[EnrollmentRow | None, CardRow | None]:
    enrollment = session.scalars(select(EnrollmentRow).where(EnrollmentRow.resident_id == resident_id)
                                 .order_by(EnrollmentRow.created_at.desc())).first()
    card = None if enrollment is None else session.scalar(
        select(CardRow).where(CardRow.enrollment_id == enrollment.id))
    return enrollment, card


def _has_printed_card(session: Session, *, resident_id: int) -> bool:
    return (session.scalar(select(func.count()).select_from(CardRow)
                           .where(CardRow.resident_id == resident_id, CardRow.state.in_(PRINTED))) or 0) > 0


def _places(village_code: str) -> dict[int, str]:
    from ktpel.reference import regions

    try:
        return {r.level: r.name for r in regions().parents(village_code)}
    except Exception:  # noqa: BLE001 - a missing reference file must not stop an office issuing a Suket
        return {}


def address_of(resident: ResidentRow) -> str:
    chain = _places(resident.village_code)
    tail = ", ".join(p for p in (chain.get(4, ""), chain.get(3, ""), chain.get(2, "")) if p)
    return f"{resident.street}, RT {resident.rt}/RW {resident.rw}" + (f", {tail}" if tail else "")


def _next_serial(session: Session, *, regency_code: str, today: dt.date) -> str:
    prefix = f"SKT-{regency_code.replace('.', '')}-{today.year}-"
    last = session.scalar(select(func.max(SuketRow.serial)).where(SuketRow.serial.like(prefix + "%")))
    n = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{n:06d}"


def _token(*, settings: Settings, row: SuketRow, resident: ResidentRow, regency_code: str) -> str:
    return credentials.sign(prefix=credentials.SUKET_PREFIX, private=credentials.office_signing_key(settings), data={
        "serial": row.serial, "nik": resident.nik, "name": resident.name, "birth_place": resident.birth_place,
        "birth_date": resident.birth_date.isoformat(), "sex": resident.sex, "address": address_of(resident),
        "status_code": row.status_code, "valid_from": row.valid_from.isoformat(),
        "valid_until": row.valid_until.isoformat(), "office_code": regency_code,
    })


def _store_events(session: Session, events: list[DomainEvent]) -> None:
    store_events(session, events)  # the revocation's typed reason stays on the (encrypted) row only
    events.clear()


def _report(session: Session, *, row: SuketRow, action: str, actor: str, office_code: str) -> str | None:
    """Tell central (kind `suket.report`) in this transaction: the national log follows every change."""
    from ktpel.office.sync.outbox import enqueue_packet

    return enqueue_packet(session, kind="suket.report", subject_id=row.serial, payload={
        "serial": row.serial, "action": action, "nik": row.nik, "state": row.state, "status_code": row.status_code,
        "reason": row.reason, "valid_from": row.valid_from.isoformat(), "valid_until": row.valid_until.isoformat(),
        "officer": actor, "office_code": office_code, "at": utcnow().isoformat(),
    })


def _machine(row: SuketRow) -> Suket:
    return Suket(id=row.serial, state=SuketState(row.state), valid_until=row.valid_until)


def _open(session: Session, *, serial: str, regency_code: str) -> SuketRow:
    row = session.scalar(select(SuketRow).where(SuketRow.serial == serial.strip().upper()).with_for_update())
    if row is None or not row.serial.startswith(f"SKT-{regency_code.replace('.', '')}-"):
        raise NotFound(f"Suket {serial} tidak ditemukan di kantor ini.", f"No Suket {serial} at this office.")
    return row


def _today(today: dt.date | None) -> dt.date:
    return today if today is not None else utcnow().astimezone(WIB).date()


# --- what users do -------------------------------------------------------------------------------------

def issue_suket(session: Session, *, settings: Settings, nik: str, reason: str, actor: str,
                today: dt.date | None = None, source_ip: str | None = None) -> SuketRow:
    """Issue a Suket to a recorded resident whose card cannot be printed now (policy permitting)."""
    regency = settings.office_regency
    policy = current_policy(session)
    check_policy(mode=policy.mode, listed=policy.listed, reason=reason)
    resident = _resident(session, nik=nik, regency_code=regency)
    if resident.revoked:
        raise SuketRefused("Data penduduk ini diblokir: Suket tidak dapat diterbitkan.",
                           "This resident's record is revoked: no Suket.", code="suket_resident_revoked")
    if _has_printed_card(session, resident_id=resident.id):
        raise SuketRefused("Penduduk ini sudah memiliki KTP-El tercetak: Suket tidak diperlukan.",
                           "This resident already has a printed KTP-El: no Suket is needed.",
                           code="suket_card_printed")
    enrollment, _ = _latest(session, resident_id=resident.id)
    code = status_code_for(enrollment.state if enrollment else None)
    active = session.scalar(select(SuketRow).where(SuketRow.active_resident_id == resident.id))
    if active is not None and active.valid_until >= _today(today):
        raise SuketRefused(f"Penduduk ini masih memegang Suket {active.serial} yang berlaku: perpanjang saja.",
                           f"The resident still holds valid Suket {active.serial}: renew it instead.",
                           code="suket_already_active")
    day = _today(today)
    if active is not None:  # expired but never closed: it stops counting as the active one
        active.active_resident_id = None
    row = SuketRow(serial=_next_serial(session, regency_code=regency, today=day), resident_id=resident.id,
                   active_resident_id=resident.id, nik=resident.nik, enrollment_id=enrollment.id,
                   state=SuketState.ACTIVE.value, status_code=code, reason=reason, valid_from=day,
                   valid_until=add_months(day, settings.suket_valid_months), renewals=0, token="",
                   issued_by=actor, issued_at=utcnow())
    row.token = _token(settings=settings, row=row, resident=resident, regency_code=regency)
    session.add(row)
    session.flush()
    session.add(DomainEventRow(name="suket.issued", subject_id=row.serial,
                               data={"nik": row.nik, "status_code": code, "reason": reason,
                                     "valid_until": row.valid_until.isoformat()}, at=utcnow()))
    _report(session, row=row, action="issued", actor=actor, office_code=regency)
    record_audit(session, actor=actor, action="suket.issued", subject=f"suket:{row.serial}",
                 after={"nik": row.nik, "status_code": code, "reason": reason,
                        "valid_until": row.valid_until.isoformat()}, source_ip=source_ip)
    return row


def renew_suket(session: Session, *, settings: Settings, serial: str, actor: str, today: dt.date | None = None,
                source_ip: str | None = None) -> SuketRow:
    """Another validity period from today, re-signed with the current status code; never for a closed one."""
    regency = settings.office_regency
    row = _open(session, serial=serial, regency_code=regency)
    day = _today(today)
    machine = _machine(row)
    before = row.valid_until
    machine.renew(today=day, months=settings.suket_valid_months)
    resident = session.get(ResidentRow, row.resident_id)
    if _has_printed_card(session, resident_id=row.resident_id):
        raise SuketRefused("KTP-El penduduk ini sudah tercetak: Suket tidak diperpanjang.",
                           "The resident's KTP-El is printed: the Suket is not renewed.", code="suket_card_printed")
    enrollment, _ = _latest(session, resident_id=row.resident_id)
    row.status_code = status_code_for(enrollment.state if enrollment else None)
    row.valid_from, row.valid_until, row.renewals = day, machine.valid_until, row.renewals + 1
    row.token = _token(settings=settings, row=row, resident=resident, regency_code=regency)
    _store_events(session, machine.events)
    _report(session, row=row, action="renewed", actor=actor, office_code=regency)
    record_audit(session, actor=actor, action="suket.renewed", subject=f"suket:{row.serial}",
                 before={"valid_until": before.isoformat()},
                 after={"valid_until": row.valid_until.isoformat(), "status_code": row.status_code},
                 source_ip=source_ip)
    return row


def revoke_suket(session: Session, *, settings: Settings, serial: str, reason: str, actor: str,
                 source_ip: str | None = None) -> SuketRow:
    """Withdraw a Suket (wrong person, misuse, data ganda); it verifies as revoked here from now on."""
    if not reason.strip():
        raise KtpelError("Isi alasan pencabutan.", "Give the reason for revoking.", code="suket_reason_missing")
    row = _open(session, serial=serial, regency_code=settings.office_regency)
    machine = _machine(row)
    machine.revoke(reason=reason.strip())
    _close(row, state=machine.state, actor=actor, reason=reason.strip())
    _store_events(session, machine.events)
    _report(session, row=row, action="revoked", actor=actor, office_code=settings.office_regency)
    record_audit(session, actor=actor, action="suket.revoked", subject=f"suket:{row.serial}",
                 before={"state": SuketState.ACTIVE.value}, after={"state": row.state, "reason": reason.strip()}, source_ip=source_ip)
    return row


def _close(row: SuketRow, *, state: SuketState, actor: str, reason: str, card_id: str | None = None) -> None:
    row.state, row.active_resident_id = state.value, None
    row.closed_by, row.closed_at, row.close_reason, row.card_id = actor, utcnow(), reason, card_id


def end_for_printed_card(session: Session, *, resident_id: int, card_id: str, actor: str,
                         office_code: str) -> SuketRow | None:
    """Printing hook: the card exists now, so the resident's active Suket ends (in the print's transaction)."""
    row = session.scalar(select(SuketRow).where(SuketRow.active_resident_id == resident_id).with_for_update())
    if row is None:
        return None
    machine = _machine(row)
    machine.end(card_id=card_id)
    _close(row, state=machine.state, actor=actor, reason="KTP-El dicetak", card_id=card_id)
    _store_events(session, machine.events)
    _report(session, row=row, action="ended", actor=actor, office_code=office_code)
    record_audit(session, actor=actor, action="suket.ended", subject=f"suket:{row.serial}",
                 after={"card": card_id})
    return row


def get_suket(session: Session, *, serial: str, regency_code: str) -> SuketRow:
    row = session.get(SuketRow, serial.strip().upper())
    if row is None or not row.serial.startswith(f"SKT-{regency_code.replace('.', '')}-"):
        raise NotFound(f"Suket {serial} tidak ditemukan.", f"No Suket {serial}.")
    return row


def sukets_of(session: Session, *, resident_id: int) -> list[SuketRow]:
    return list(session.scalars(select(SuketRow).where(SuketRow.resident_id == resident_id)
                                .order_by(SuketRow.issued_at.desc())))


def resident_panel(session: Session, *, resident_id: int) -> dict:
    """What the resident's page shows of Suket (office.composition.RESIDENT_PANELS): each with its state today."""
    sukets = sukets_of(session, resident_id=resident_id)
    return {"sukets": sukets, "suket_states": {r.serial: effective_state(r) for r in sukets}}


def recent(session: Session, *, limit: int = 30) -> list[SuketRow]:
    return list(session.scalars(select(SuketRow).order_by(SuketRow.issued_at.desc()).limit(limit)))


def counts(session: Session, *, today: dt.date | None = None) -> dict[str, int]:
    """Active (still valid), expired (active but past its date), ended and revoked Suket at this office."""
    day = _today(today)
    rows = session.execute(select(SuketRow.state, SuketRow.valid_until, func.count())
                           .group_by(SuketRow.state, SuketRow.valid_until)).all()
    out = {SuketState.ACTIVE.value: 0, "EXPIRED": 0, SuketState.ENDED.value: 0, SuketState.REVOKED.value: 0}
    for state, until, n in rows:
        key = "EXPIRED" if state == SuketState.ACTIVE.value and until < day else state
        out[key] = out.get(key, 0) + int(n)
    return out


def effective_state(row: SuketRow, *, today: dt.date | None = None) -> str:
    return _machine(row).effective(today=_today(today))


# --- verification (/verifikasi) --------------------------------------------------------------------------

def verify_suket(session: Session, *, fields: dict, today: dt.date | None = None) -> str:
    """ACTIVE / EXPIRED / ENDED / REVOKED for a Suket whose signature already verified.

    Offline, the date in the signed token decides expiry; this office's register adds what it knows
    (revoked, ended by a printed card, or renewed into a newer token).
    """
    day = _today(today)
    valid_until = dt.date.fromisoformat(str(fields["valid_until"]))
    row = session.get(SuketRow, str(fields["serial"]))
    if row is not None and row.state != SuketState.ACTIVE.value:
        return row.state
    # each print carries its own date: after a renewal the resident holds the new print
    return "EXPIRED" if day > valid_until else SuketState.ACTIVE.value


# --- the PDF -----------------------------------------------------------------------------------------------

def suket_pdf(session: Session, *, settings: Settings, serial: str) -> bytes:
    from ktpel.office.suket.document import render_suket

    row = get_suket(session, serial=serial, regency_code=settings.office_regency)
    resident = session.get(ResidentRow, row.resident_id)
    return render_suket(serial=row.serial, nik=resident.nik, name=resident.name, birth_place=resident.birth_place,
                        birth_date=resident.birth_date, sex=resident.sex, address=address_of(resident),
                        status_code=row.status_code, valid_from=row.valid_from, valid_until=row.valid_until,
                        token=row.token, office_name=settings.office_name, issued_by=row.issued_by,
                        state=row.state)
