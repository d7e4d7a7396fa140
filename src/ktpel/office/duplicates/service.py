"""Office side of a data-ganda case: the announced case, the resident's choice, an office's own report.

The choice travels to central as a `duplicate.resolution` packet through the outbox, so it is taken
even while central is unreachable; central's revocation / print-ready events close the case here.
"""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from ktpel.domain.duplicate_case import CaseClosed, CaseInvalid
from ktpel.domain.errors import NotFound
from ktpel.security.audit import record_audit
from ktpel.store.schema.office_duplicates import OfficeDuplicateCaseRow
from ktpel.sync.wiring import HandlerContext


def apply_case_opened(session: Session, *, context: HandlerContext, seq: int, kind: str, subject_id: str,
                      data: dict) -> None:
    """Office apply handler for `duplicate.case_opened`: keep the case to show at the counter."""
    row = session.get(OfficeDuplicateCaseRow, data["case_id"])
    if row is None:
        session.add(OfficeDuplicateCaseRow(case_id=data["case_id"], records=json.dumps(data["records"]),
                                           status="open"))


def apply_case_closed(session: Session, *, context: HandlerContext, seq: int, kind: str, subject_id: str,
                      data: dict) -> None:
    """Office apply handler (revocation / print_ready with a case id): the case is settled."""
    case_id = data.get("case_id")
    row = session.get(OfficeDuplicateCaseRow, case_id) if case_id else None
    if row is not None:
        row.status = "closed"
        row.chosen_record_id = row.chosen_record_id or data.get("kept_enrollment_id") or subject_id


def list_cases(session: Session) -> list[dict]:
    rows = session.scalars(select(OfficeDuplicateCaseRow).order_by(OfficeDuplicateCaseRow.opened_at.desc())).all()
    return [case_view(r) for r in rows]


def case_view(row: OfficeDuplicateCaseRow) -> dict:
    return {"case_id": row.case_id, "status": row.status, "records": json.loads(row.records),
            "chosen_record_id": row.chosen_record_id, "chosen_by": row.chosen_by, "opened_at": row.opened_at}


def get_case(session: Session, *, case_id: str) -> OfficeDuplicateCaseRow:
    row = session.get(OfficeDuplicateCaseRow, case_id)
    if row is None:
        raise NotFound(f"Kasus data ganda {case_id} tidak ada di kantor ini.",
                       f"Duplicate case {case_id} is not known at this office.")
    return row


def check_choice(session: Session, *, case_id: str, keep_enrollment_id: str,
                 kk_number: str) -> tuple[OfficeDuplicateCaseRow, dict, dict]:
    """The choice as the resident made it, checked: the case is open, the record is one of its two, and the
    KK the resident shows is the KK of the record that STAYS (the other record's KK proves nothing).
    Returns the case, the kept record and the record to revoke."""
    row = get_case(session, case_id=case_id)
    if row.status != "open":
        raise CaseClosed("Kasus ini sudah diputuskan.", f"Case {case_id} is already decided ({row.status}).")
    records = {r["enrollment_id"]: r for r in json.loads(row.records)}
    if keep_enrollment_id not in records:
        raise CaseInvalid("Pilih salah satu dari dua rekaman kasus ini.", "Choose one of the case's two records.")
    kept = records[keep_enrollment_id]
    revoked = next(r for k, r in records.items() if k != keep_enrollment_id)
    typed = "".join(ch for ch in kk_number if ch.isdigit())
    if typed != (kept.get("kk_number") or ""):
        if typed and typed == (revoked.get("kk_number") or ""):
            raise CaseInvalid("Nomor KK ini milik rekaman yang akan DICABUT, bukan yang dipertahankan. Periksa "
                              "pilihan penduduk dan KK asli yang dibawa.",
                              "This family card number belongs to the record that would be REVOKED, not the one "
                              "kept. Check the resident's choice and the original KK.")
        raise CaseInvalid("Nomor KK tidak cocok dengan rekaman yang dipertahankan: minta penduduk menunjukkan KK asli.",
                          "The family card number does not match the record kept: ask for the original KK.")
    return row, kept, revoked


def choose_record(session: Session, *, case_id: str, keep_enrollment_id: str, kk_number: str, chosen_by: str,
                  source_ip: str | None = None) -> str:
    """The resident, with their family card (KK), chose the record that stays; returns the packet id."""
    from ktpel.office.sync.outbox import enqueue_packet

    row, _, _ = check_choice(session, case_id=case_id, keep_enrollment_id=keep_enrollment_id, kk_number=kk_number)
    packet_id = enqueue_packet(session, kind="duplicate.resolution", subject_id=case_id,
                               payload={"action": "choose", "case_id": case_id,
                                        "keep_enrollment_id": keep_enrollment_id, "chosen_by": chosen_by})
    row.status = "chosen"
    row.chosen_record_id = keep_enrollment_id
    row.chosen_by = chosen_by
    row.packet_id = packet_id
    record_audit(session, actor=chosen_by, action="duplicate_case.choose", subject=case_id,
          after={"keep": keep_enrollment_id, "packet_id": packet_id}, source_ip=source_ip)
    return packet_id


def report_duplicate(session: Session, *, nik_a: str, nik_b: str, reason: str, reported_by: str,
                     source_ip: str | None = None) -> str:
    """An officer found two NIKs for one person: central opens the case (packet `duplicate.resolution`)."""
    from ktpel.office.sync.outbox import enqueue_packet

    a, b = nik_a.strip(), nik_b.strip()
    if not (len(a) == len(b) == 16 and a.isdigit() and b.isdigit()):
        raise CaseInvalid("Kedua NIK harus 16 angka.", "Both NIKs must be 16 digits.")
    if a == b:
        raise CaseInvalid("Dua NIK yang dilaporkan sama.", "The two NIKs are the same.")
    if not reason.strip():
        raise CaseInvalid("Alasan laporan wajib diisi.", "A reason is required.")
    packet_id = enqueue_packet(session, kind="duplicate.resolution", subject_id=f"{a}-{b}",
                               payload={"action": "open", "nik_a": a, "nik_b": b, "reason": reason.strip()[:500],
                                        "reported_by": reported_by})
    record_audit(session, actor=reported_by, action="duplicate_case.report", subject=f"{a}/{b}",
          after={"packet_id": packet_id, "reason": reason.strip()[:500]}, source_ip=source_ip)
    return packet_id
