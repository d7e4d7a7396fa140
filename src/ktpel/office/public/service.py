"""Public self-service: a resident's status by NIK + receipt number, and offline card QR verification.

Rate limits (both answer 429):
- per IP: an in-process sliding window (Settings.status_limit_per_ip lookups a minute), plus a DB-backed
  count of failed lookups per IP in the last hour (3 × that limit) that holds across processes/restarts;
- per NIK: DB-backed, Settings.status_limit_per_nik failed lookups in the last hour. Failed lookups are
  what guessing produces; a resident who gets the pair right is not slowed by earlier correct lookups.
NIKs are never stored in the lookup log, only a keyed hash (the field cipher's blind index).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ktpel.config import Settings
from ktpel.domain.errors import KtpelError
from ktpel.domain.events import utcnow
from ktpel.notify.errors import RateLimited
from ktpel.security.fields import cipher
from ktpel.store.schema.core import CardRow, EnrollmentRow, ResidentRow
from ktpel.store.schema.notify import RevocationRow, StatusLookupRow

log = logging.getLogger("ktpel.public")

NIK_RE = re.compile(r"^\d{16}$")
RECEIPT_RE = re.compile(r"^[A-Za-z0-9./-]{4,20}$")


class LookupInvalid(KtpelError):
    code = "lookup_invalid"
    http_status = 422

    def __init__(self) -> None:
        super().__init__("Isi NIK (16 angka) dan nomor tanda terima perekaman.",
                         "Enter the NIK (16 digits) and the recording receipt number.")


class SlidingWindow:
    """At most `limit` events per key within `window_s` seconds, in this process."""

    def __init__(self, *, limit: int, window_s: float) -> None:
        self.limit, self.window_s = limit, window_s
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, *, now: float | None = None) -> float | None:
        """Count one event; None if allowed, else seconds until the oldest one leaves the window."""
        now = time.monotonic() if now is None else now
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window_s:
                hits.popleft()
            if len(hits) >= self.limit:
                return max(1.0, hits[0] + self.window_s - now)
            hits.append(now)
            if len(self._hits) > 50_000:  # keep memory bounded under a flood of distinct IPs
                for k in [k for k, v in self._hits.items() if not v][:25_000]:
                    del self._hits[k]
            return None


@dataclass(frozen=True)
class PublicStatus:
    """What the public page shows: plain words, never the resident's name or address."""

    found: bool
    code: str = ""
    text_id: str = "Data tidak ditemukan. Periksa kembali NIK dan nomor tanda terima perekaman Anda."
    text_en: str = "Not found. Check the NIK and the recording receipt number."
    wait_id: str = ""
    wait_en: str = ""
    bring_id: str = ""
    bring_en: str = ""
    office_name: str = ""
    office_address: str = ""
    office_hours: str = ""

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


# state → (code, text id, text en, wait id, wait en, bring id, bring en)
_WORDS: dict[str, tuple[str, str, str, str, str, str, str]] = {
    "CAPTURED": ("REKAM", "Perekaman Anda sudah tercatat di kantor dan menunggu dikirim ke pusat data.",
                 "Your recording is registered at the office and waiting to be sent to the data center.",
                 "sekitar 1–3 hari kerja", "about 1–3 working days", "", ""),
    "SENT": ("SFE", "Data Anda sudah dikirim dan sedang diperiksa di pusat data.",
             "Your data was sent and is being checked at the data center.",
             "biasanya 3–14 hari kerja", "usually 3–14 working days", "", ""),
    "ADJUDICATION": ("ADJ", "Data Anda sedang diperiksa oleh petugas pusat data.",
                     "Your data is being reviewed by data-center staff.",
                     "hingga 30 hari kerja", "up to 30 working days", "", ""),
    "PRINT_READY": ("PRR", "KTP-El Anda siap dicetak. Silakan datang ke kantor untuk pencetakan.",
                    "Your KTP-El is ready to print. Please come to the office to have it printed.",
                    "dicetak saat Anda datang, selama blanko tersedia", "printed while you wait, if blanks are in stock",
                    "tanda terima perekaman dan KK", "the recording receipt and family card (KK)"),
    "PRINTED": ("CETAK", "KTP-El Anda sudah dicetak dan dapat diambil di kantor.",
                "Your KTP-El is printed and can be collected at the office.",
                "siap diambil", "ready for collection", "tanda terima perekaman", "the recording receipt"),
    "ISSUED": ("DIAMBIL", "KTP-El Anda sudah diambil.", "Your KTP-El has been collected.", "-", "-", "", ""),
    "REVOKED": ("BLOKIR", "KTP-El ini diblokir. Silakan hubungi kantor.",
                "This KTP-El is blocked. Please contact the office.", "-", "-", "KK asli", "the original KK"),
    "DUPLICATE": ("DUP", "Ditemukan data ganda. Silakan datang ke kantor dengan KK untuk penyelesaian data ganda.",
                  "A duplicate record was found. Please come to the office with your KK to resolve it.",
                  "diselesaikan saat Anda datang", "resolved when you come", "KK asli dan tanda terima perekaman",
                  "the original KK and the recording receipt"),
    "FAILED": ("EFAC", "Perekaman Anda perlu diulang (mis. kualitas sidik jari atau foto kurang baik).",
               "Your recording must be redone (e.g. poor fingerprint or photo quality).",
               "segera, pada jam buka", "as soon as you can, during opening hours",
               "KK dan tanda terima perekaman", "the KK and the recording receipt"),
}
_WORDS["QUEUED"] = _WORDS["CAPTURED"]
_WORDS["RECEIVED"] = _WORDS["SENT"]


def _status_words(*, enrollment_state: str, card_state: str | None) -> tuple:
    if card_state in ("PRINTED", "ISSUED", "REVOKED"):
        return _WORDS[card_state]
    return _WORDS.get(enrollment_state, _WORDS["SENT"])


def _failures(session: Session, *, column, value: str, since: dt.datetime) -> int:  # noqa: ANN001
    return session.scalar(select(func.count()).select_from(StatusLookupRow)
                          .where(column == value, StatusLookupRow.found.is_(False), StatusLookupRow.at >= since)) or 0


def lookup_status(session: Session, *, settings: Settings, nik: str, receipt_number: str, ip: str,
                  limiter: SlidingWindow | None = None) -> PublicStatus:
    """The status for a NIK + receipt pair; any mismatch is the same "not found" answer, and logged."""
    from ktpel.domain.receipt import receipt_candidates

    nik = re.sub(r"[\s.\-]", "", nik or "")
    candidates = tuple(c for c in receipt_candidates(receipt_number or "") if RECEIPT_RE.match(c))
    if not NIK_RE.match(nik) or not candidates:
        raise LookupInvalid()
    if limiter is not None:
        wait = limiter.hit(ip)
        if wait is not None:
            log.warning("status lookup rate-limited (per IP, in process) ip=%s", ip)
            raise RateLimited(retry_after=int(wait) + 1)
    nik_hash = cipher().blind_index("status-nik:" + nik)
    now = utcnow()
    if (_failures(session, column=StatusLookupRow.nik_hash, value=nik_hash, since=now - dt.timedelta(hours=1))
            >= settings.status_limit_per_nik
            or _failures(session, column=StatusLookupRow.ip, value=ip, since=now - dt.timedelta(hours=1))
            >= settings.status_limit_per_ip * 3):
        log.warning("status lookup rate-limited (per NIK/IP, database) ip=%s nik_hash=%s", ip, nik_hash[:12])
        raise RateLimited(retry_after=3600)
    row = session.execute(
        select(EnrollmentRow.state, EnrollmentRow.id)
        .join(ResidentRow, ResidentRow.id == EnrollmentRow.resident_id)
        .where(EnrollmentRow.receipt_number.in_(candidates), ResidentRow.nik == nik,
               ResidentRow.regency_code == settings.office_regency)
    ).first()
    session.add(StatusLookupRow(nik_hash=nik_hash, ip=ip, found=row is not None, limited=False, at=now))
    office = {"office_name": settings.office_name, "office_address": settings.office_address,
              "office_hours": settings.office_hours}
    if row is None:
        log.info("status lookup not found ip=%s nik_hash=%s", ip, nik_hash[:12])
        return PublicStatus(found=False, **office)
    state, enrollment_id = row
    card_state = session.scalar(select(CardRow.state).where(CardRow.enrollment_id == enrollment_id))
    code, text_id, text_en, wait_id, wait_en, bring_id, bring_en = _status_words(
        enrollment_state=state, card_state=card_state)
    return PublicStatus(found=True, code=code, text_id=text_id, text_en=text_en, wait_id=wait_id, wait_en=wait_en,
                        bring_id=bring_id, bring_en=bring_en, **office)


# -- card verification ------------------------------------------------------------------------------

SHOWN_FIELDS = ("nik", "name", "birth_place", "birth_date", "sex", "regency_code", "issued_at")


@dataclass(frozen=True)
class Verification:
    result: str  # VALID | INVALID | REVOKED | UNREADABLE | NO_KEYS
    reason: str = ""
    card: dict = field(default_factory=dict)

    @property
    def text(self) -> tuple[str, str]:
        return {
            "VALID": ("SAH — ditandatangani pusat data Dukcapil.", "VALID — signed by the Dukcapil data center."),
            "INVALID": ("TIDAK SAH — tanda tangan tidak cocok atau data diubah.",
                        "INVALID — the signature does not match or the data was altered."),
            "UNREADABLE": ("TIDAK TERBACA — ini bukan kode QR KTP-El yang lengkap. Pindai atau tempel ulang "
                           "seluruh isi kode QR.",
                           "UNREADABLE — this is not a complete KTP-El QR code. Scan or paste the whole code again."),
            "REVOKED": ("DIBLOKIR — kartu ini sudah dicabut.", "REVOKED — this card has been withdrawn."),
            "NO_KEYS": ("Kunci publik pusat data belum tersedia di kantor ini.",
                        "Central's public key is not yet available at this office."),
        }[self.result]

    def as_dict(self) -> dict:
        return {"result": self.result, "reason": self.reason, "text_id": self.text[0], "text_en": self.text[1],
                "card": self.card}


def verify_card(session: Session, *, settings: Settings, payload: str) -> Verification:
    """Check a card's QR payload offline against central's public keys and the synced revocation list."""
    from ktpel.sync import authorisation
    from ktpel.sync.keys import central_public_keys

    token = "".join((payload or "").split())
    if not token or len(token) > 8000:
        return Verification("UNREADABLE", reason="empty" if not token else "too long")
    keys = central_public_keys(settings)
    if not keys:
        return Verification("NO_KEYS", reason="no trusted central key")
    try:
        card = authorisation.verify_card_qr(token, public_keys=keys)
    except authorisation.InvalidAuthorisation as exc:
        # text that is not a KTP-El code at all is "unreadable"; only a code whose signature fails is "invalid"
        return Verification("UNREADABLE" if exc.reason == "format" else "INVALID", reason=exc.reason)
    shown = {k: card.get(k) for k in SHOWN_FIELDS}
    ids = [str(card.get("card_id") or ""), str(card.get("enrollment_id") or "")]
    revoked = session.scalar(select(func.count()).select_from(RevocationRow)
                             .where(RevocationRow.card_id.in_([i for i in ids if i]))) or 0
    local = session.scalar(select(CardRow.state).where(CardRow.id == ids[0])) if ids[0] else None
    if revoked or local == "REVOKED":
        return Verification("REVOKED", reason="revoked", card=shown)
    return Verification("VALID", card=shown)
