"""Finding residents of the office's regency and where their recording and card stand."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Select, func, select

from ktpel.domain.enrollment import CardState, EnrollmentState
from ktpel.domain.enrollment import EnrollmentState as E
from ktpel.domain.errors import KtpelError, NotFound
from ktpel.store.fields import cipher, name_tokens
from ktpel.store.schema.core import CardRow, EnrollmentRow, ResidentNameTokenRow, ResidentRow
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class ResidentStatus:
    """Where a resident stands, in the words officers use."""

    code: str  # BELUM REKAM, REKAM, SFE, PRR, DUP, EFAC, CETAK, DIAMBIL …
    label_id: str
    label_en: str
    enrollment_state: str | None
    card_state: str | None


NOT_RECORDED = ResidentStatus("BELUM REKAM", "belum rekam", "not recorded", None, None)


def status_of(*, enrollment_state: str | None, card_state: str | None) -> ResidentStatus:
    """Combine the latest enrollment and card into one status code."""
    if enrollment_state is None:
        return NOT_RECORDED
    if card_state in (CardState.PRINTED.value, CardState.ISSUED.value):
        issued = card_state == CardState.ISSUED.value
        return ResidentStatus(
            "DIAMBIL" if issued else "CETAK",
            "sudah diambil" if issued else "sudah cetak",
            "collected" if issued else "printed",
            enrollment_state, card_state,
        )
    if card_state == CardState.REVOKED.value:
        return ResidentStatus("BLOKIR", "kartu diblokir", "card revoked", enrollment_state, card_state)
    state = EnrollmentState(enrollment_state)
    english = {
        E.CAPTURED: "recorded", E.QUEUED: "queued to send", E.SENT: "sent for enrollment (SFE)",
        E.RECEIVED: "received by central", E.PRINT_READY: "print-ready (PRR)",
        E.ADJUDICATION: "under adjudication", E.DUPLICATE: "duplicate record (DUP)",
        E.FAILED: "failed, re-record (EFAC)",
    }[state]
    return ResidentStatus(state.office_code, state.label_id, english, enrollment_state, card_state)


@dataclass(frozen=True)
class ResidentSummary:
    id: int
    nik: str
    kk_number: str
    name: str
    birth_place: str
    birth_date: dt.date
    sex: str
    village_code: str
    district_code: str
    status: ResidentStatus


@dataclass(frozen=True)
class Page:
    items: list[ResidentSummary]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


class SearchTooBroad(KtpelError):
    code = "search_too_broad"


def _latest_states(session: Session, resident_ids: list[int]) -> dict[int, tuple[str, str | None]]:
    if not resident_ids:
        return {}
    rows = session.execute(
        select(EnrollmentRow.resident_id, EnrollmentRow.state, CardRow.state, EnrollmentRow.created_at)
        .outerjoin(CardRow, CardRow.enrollment_id == EnrollmentRow.id)
        .where(EnrollmentRow.resident_id.in_(resident_ids))
        .order_by(EnrollmentRow.created_at)
    )
    latest: dict[int, tuple[str, str | None]] = {}
    for rid, e_state, c_state, _ in rows:
        latest[rid] = (e_state, c_state)  # ordered by time: the last one wins
    return latest


def _summaries(session: Session, rows: list[ResidentRow]) -> list[ResidentSummary]:
    states = _latest_states(session, [r.id for r in rows])
    out = []
    for r in rows:
        e_state, c_state = states.get(r.id, (None, None))
        out.append(ResidentSummary(
            id=r.id, nik=r.nik, kk_number=r.kk_number, name=r.name, birth_place=r.birth_place,
            birth_date=r.birth_date, sex=r.sex, village_code=r.village_code,
            district_code=r.district_code,
            status=status_of(enrollment_state=e_state, card_state=c_state),
        ))
    return out


def _query_for(text: str, *, regency_code: str) -> Select:
    query = select(ResidentRow).where(ResidentRow.regency_code == regency_code)
    digits = text.replace(" ", "")
    if digits.isdigit():
        if len(digits) < 6:
            raise SearchTooBroad(
                "Ketik minimal 6 digit NIK/KK.", "Type at least 6 digits of a NIK or KK number."
            )
        # a 16-digit number may be a NIK or a family card (KK) number
        if len(digits) == 16:
            return query.where((ResidentRow.nik == digits) | (ResidentRow.kk_number == digits))
        return query.where(ResidentRow.nik.like(digits + "%"))
    tokens = name_tokens(text)
    if not tokens:
        raise SearchTooBroad(
            "Ketik NIK, nomor KK, atau nama (minimal 2 huruf).",
            "Type a NIK, family card number, or name (at least 2 letters).",
        )
    c = cipher()
    for token in tokens:
        query = query.where(
            ResidentRow.id.in_(
                select(ResidentNameTokenRow.resident_id).where(
                    ResidentNameTokenRow.token == c.blind_index(token)
                )
            )
        )
    return query


def search_residents(
    session: Session,
    *,
    text: str,
    regency_code: str,
    birth_date: dt.date | None = None,
    page: int = 1,
    page_size: int = 25,
) -> Page:
    """Residents of one regency by NIK (or its first digits), KK number, or every word of the name."""
    page = max(1, page)
    query = _query_for(text.strip(), regency_code=regency_code)
    if birth_date is not None:
        query = query.where(ResidentRow.birth_date == birth_date)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(ResidentRow.nik).offset((page - 1) * page_size).limit(page_size)
    ).all()
    return Page(items=_summaries(session, list(rows)), total=total, page=page, page_size=page_size)


def get_resident(session: Session, *, nik: str, regency_code: str) -> ResidentRow:
    """One resident of this regency; another regency's resident is simply not found here."""
    row = session.scalar(
        select(ResidentRow).where(ResidentRow.nik == nik, ResidentRow.regency_code == regency_code)
    )
    if row is None:
        raise NotFound(f"Penduduk dengan NIK {nik} tidak ditemukan.", f"No resident with NIK {nik}.")
    return row


def family_of(session: Session, *, kk_number: str, regency_code: str) -> list[ResidentSummary]:
    rows = session.scalars(
        select(ResidentRow)
        .where(ResidentRow.kk_number == kk_number, ResidentRow.regency_code == regency_code)
        .order_by(ResidentRow.birth_date)
    ).all()
    return _summaries(session, list(rows))


def resident_status(session: Session, *, resident_id: int) -> ResidentStatus:
    e_state, c_state = _latest_states(session, [resident_id]).get(resident_id, (None, None))
    return status_of(enrollment_state=e_state, card_state=c_state)
