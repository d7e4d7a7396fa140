"""Public self-service: a resident's status by NIK + receipt number, and offline card QR verification.

Rate limits (both answer 429):
- per IP: Settings.status_limit_per_ip lookups a minute, counted in process (a sliding window that stops a
  flood before any database work) and in the lookup log (so it holds across the worker processes of
  `office serve --workers N` and restarts), plus failed lookups per IP in the last hour (3 × that limit);
- per (NIK, address), per NIK across addresses (a slow-down, never a lockout) and globally: see
  `_check_limits`. Failed lookups are what guessing produces; a resident who gets the pair right is never
  locked out by someone else's wrong guesses.
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
from ktpel.domain.enrollment import EnrollmentState
from ktpel.domain.enrollment import CardState
from ktpel.domain.errors import KtpelError
from ktpel.domain.events import utcnow
from ktpel.domain.ikd import IkdState
from ktpel.domain.suket import SuketState
from ktpel.office.notify.errors import RateLimited
from ktpel.store.fields import cipher
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
    EnrollmentState.CAPTURED.value: ("REKAM", "Perekaman Anda sudah tercatat di kantor dan menunggu dikirim ke pusat data.",
                 "Your recording is registered at the office and waiting to be sent to the data center.",
                 "sekitar 1–3 hari kerja", "about 1–3 working days", "", ""),
    EnrollmentState.SENT.value: ("SFE", "Data Anda sudah dikirim dan sedang diperiksa di pusat data.",
             "Your data was sent and is being checked at the data center.",
             "biasanya 3–14 hari kerja", "usually 3–14 working days", "", ""),
    EnrollmentState.ADJUDICATION.value: ("ADJ", "Data Anda sedang diperiksa oleh petugas pusat data.",
                     "Your data is being reviewed by data-center staff.",
                     "hingga 30 hari kerja", "up to 30 working days", "", ""),
    EnrollmentState.PRINT_READY.value: ("PRR", "KTP-El Anda siap dicetak. Silakan datang ke kantor untuk pencetakan.",
                    "Your KTP-El is ready to print. Please come to the office to have it printed.",
                    "dicetak saat Anda datang, selama blanko tersedia", "printed while you wait, if blanks are in stock",
                    "tanda terima perekaman dan KK", "the recording receipt and family card (KK)"),
    CardState.PRINTED.value: ("CETAK", "KTP-El Anda sudah dicetak dan dapat diambil di kantor.",
                "Your KTP-El is printed and can be collected at the office.",
                "siap diambil", "ready for collection", "tanda terima perekaman", "the recording receipt"),
    CardState.ISSUED.value: ("DIAMBIL", "KTP-El Anda sudah diambil.", "Your KTP-El has been collected.", "-", "-", "", ""),
    CardState.REVOKED.value: ("BLOKIR", "KTP-El ini diblokir. Silakan hubungi kantor.",
                "This KTP-El is blocked. Please contact the office.", "-", "-", "KK asli", "the original KK"),
    EnrollmentState.DUPLICATE.value: ("DUP", "Ditemukan data ganda. Silakan datang ke kantor dengan KK untuk penyelesaian data ganda.",
                  "A duplicate record was found. Please come to the office with your KK to resolve it.",
                  "diselesaikan saat Anda datang", "resolved when you come", "KK asli dan tanda terima perekaman",
                  "the original KK and the recording receipt"),
    EnrollmentState.FAILED.value: ("EFAC", "Perekaman Anda perlu diulang (mis. kualitas sidik jari atau foto kurang baik).",
               "Your recording must be redone (e.g. poor fingerprint or photo quality).",
               "segera, pada jam buka", "as soon as you can, during opening hours",
               "KK dan tanda terima perekaman", "the KK and the recording receipt"),
}
_WORDS[EnrollmentState.QUEUED.value] = _WORDS[EnrollmentState.CAPTURED.value]
_WORDS[EnrollmentState.RECEIVED.value] = _WORDS[EnrollmentState.SENT.value]


def _status_words(*, enrollment_state: str, card_state: str | None) -> tuple:
    if card_state in (CardState.PRINTED.value, CardState.ISSUED.value, CardState.REVOKED.value):
        return _WORDS[card_state]
    return _WORDS.get(enrollment_state, _WORDS[EnrollmentState.SENT.value])


def _failures(session: Session, *, column, value: str, since: dt.datetime) -> int:  # noqa: ANN001
    return session.scalar(select(func.count()).select_from(StatusLookupRow)
                          .where(column == value, StatusLookupRow.found.is_(False), StatusLookupRow.at >= since)) or 0


def _retry_after(oldest: dt.datetime | None, *, window: dt.timedelta, now: dt.datetime) -> int:
    return max(1, int(((oldest + window) - now).total_seconds()) + 1) if oldest else int(window.total_seconds())


def _check_limits(session: Session, *, settings: Settings, nik_hash: str, ip: str, now: dt.datetime) -> None:
    """Guessing is limited without ever locking a resident out of their own status:
    - per (NIK, address): `status_limit_per_nik` failures an hour stop *that* guesser, not the resident
      at the counter or on their phone (someone typing wrong receipts cannot lock a NIK);
    - per address: 3 × `status_limit_per_ip` failures an hour, across NIKs;
    - per NIK over all addresses (a distributed guess): after `status_nik_slowdown_after` failures an hour,
      one lookup of that NIK per `status_nik_slowdown_s` — a wait of seconds, never an hour;
    - globally: over `status_global_failures_per_min` failures a minute, a short pause for everyone."""
    hour = dt.timedelta(hours=1)
    failed = (StatusLookupRow.found.is_(False), StatusLookupRow.at >= now - hour)

    def count_oldest(*where) -> tuple[int, dt.datetime | None]:  # noqa: ANN002
        n, oldest = session.execute(select(func.count(), func.min(StatusLookupRow.at))
                                    .where(*failed, *where)).one()
        return int(n or 0), oldest

    # every lookup of this address in the last minute, from the shared log: the in-process window alone
    # would allow N times the limit behind `office serve --workers N`
    minute = dt.timedelta(minutes=1)
    n, oldest = session.execute(select(func.count(), func.min(StatusLookupRow.at))
                                .where(StatusLookupRow.ip == ip, StatusLookupRow.at >= now - minute)).one()
    if (n or 0) >= settings.status_limit_per_ip:
        log.warning("status lookup rate-limited (address, per minute, database) ip=%s", ip)
        raise RateLimited(retry_after=_retry_after(oldest, window=minute, now=now))
    n, oldest = count_oldest(StatusLookupRow.nik_hash == nik_hash, StatusLookupRow.ip == ip)
    if n >= settings.status_limit_per_nik:
        log.warning("status lookup rate-limited (NIK+address) ip=%s nik_hash=%s", ip, nik_hash[:12])
        raise RateLimited(retry_after=_retry_after(oldest, window=hour, now=now))
    n, oldest = count_oldest(StatusLookupRow.ip == ip)
    if n >= settings.status_limit_per_ip * 3:
        log.warning("status lookup rate-limited (address, database) ip=%s", ip)
        raise RateLimited(retry_after=_retry_after(oldest, window=hour, now=now))
    n, _ = count_oldest(StatusLookupRow.nik_hash == nik_hash)
    if n >= settings.status_nik_slowdown_after:
        last = session.scalar(select(func.max(StatusLookupRow.at)).where(StatusLookupRow.nik_hash == nik_hash))
        spacing = dt.timedelta(seconds=settings.status_nik_slowdown_s)
        if last is not None and now - last < spacing:
            log.warning("status lookup slowed (NIK, all addresses) ip=%s nik_hash=%s", ip, nik_hash[:12])
            raise RateLimited(retry_after=_retry_after(last, window=spacing, now=now))
    n = session.scalar(select(func.count()).select_from(StatusLookupRow)
                       .where(StatusLookupRow.found.is_(False), StatusLookupRow.at >= now - minute)) or 0
    if n >= settings.status_global_failures_per_min:
        log.warning("status lookup slowed (global failures) ip=%s", ip)
        raise RateLimited(retry_after=5)


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
    _check_limits(session, settings=settings, nik_hash=nik_hash, ip=ip, now=now)
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
    result: str  # VALID | INVALID | REVOKED | UNREADABLE | NO_KEYS | EXPIRED | ENDED (the last two: a Suket)
    reason: str = ""
    card: dict = field(default_factory=dict)
    kind: str = "card"  # card | suket | ikd

    @property
    def text(self) -> tuple[str, str]:
        if self.kind in _CREDENTIAL_TEXT and self.result in _CREDENTIAL_TEXT[self.kind]:
            return _CREDENTIAL_TEXT[self.kind][self.result]
        return {
            "VALID": ("SAH — ditandatangani pusat data Dukcapil.", "VALID — signed by the Dukcapil data center."),
            "INVALID": ("TIDAK SAH — tanda tangan tidak cocok atau data diubah.",
                        "INVALID — the signature does not match or the data was altered."),
            "UNREADABLE": ("TIDAK TERBACA — ini bukan kode QR KTP-El yang lengkap. Pindai atau tempel ulang "
                           "seluruh isi kode QR.",
                           "UNREADABLE — this is not a complete KTP-El QR code. Scan or paste the whole code again."),
            CardState.REVOKED.value: ("DIBLOKIR — kartu ini sudah dicabut.", "REVOKED — this card has been withdrawn."),
            "NO_KEYS": ("Kunci publik pusat data belum tersedia di kantor ini.",
                        "Central's public key is not yet available at this office."),
        }[self.result]

    def as_dict(self) -> dict:
        return {"result": self.result, "reason": self.reason, "text_id": self.text[0], "text_en": self.text[1],
                "card": self.card, "kind": self.kind}


_CREDENTIAL_TEXT = {
    "suket": {
        "VALID": ("SAH — Suket pengganti KTP-El, masih berlaku, ditandatangani kantor Dukcapil.",
                  "VALID — a temporary certificate in place of the KTP-El, still in force, signed by the office."),
        "EXPIRED": ("KEDALUWARSA — masa berlaku Suket ini sudah habis.", "EXPIRED — this Suket is past its validity date."),
        SuketState.ENDED.value: ("SELESAI — KTP-El pemegang sudah dicetak; Suket ini tidak berlaku lagi.",
                  "ENDED — the holder's KTP-El was printed; this Suket is no longer valid."),
        SuketState.REVOKED.value: ("DICABUT — Suket ini sudah dicabut oleh kantor.", "REVOKED — the office withdrew this Suket."),
    },
    "ikd": {
        "VALID": ("SAH — KTP digital (IKD) diaktifkan di kantor Dukcapil.",
                  "VALID — a digital ID (IKD) activated at the Dukcapil office."),
        IkdState.REVOKED.value: ("DIBLOKIR — IKD ini sudah dicabut.", "REVOKED — this digital ID has been withdrawn."),
    },
}


def _verify_credential(session: Session, *, settings: Settings, token: str) -> Verification:
    """A Suket (KTS1) or IKD (KTD1) token, signed by an office: signature, then date and local register."""
    from ktpel.office import credentials

    kind = "suket" if credentials.kind_of(token) == credentials.SUKET_PREFIX else "ikd"
    keys = credentials.trusted_keys(settings)
    if not keys:
        return Verification("NO_KEYS", reason="no trusted key", kind=kind)
    try:
        _, fields = credentials.verify(token, public_keys=keys)
    except credentials.InvalidCredential as exc:
        return Verification("INVALID", reason=exc.reason, kind=kind)
    if kind == "suket":
        from ktpel.office.suket.service import verify_suket

        state = verify_suket(session, fields=fields)
        return Verification("VALID" if state == SuketState.ACTIVE.value else state, card=fields, kind=kind)
    from ktpel.office.ikd.service import verify_ikd

    return Verification(verify_ikd(session, fields=fields), card=fields, kind=kind)


def verify_card(session: Session, *, settings: Settings, payload: str) -> Verification:
    """Check a card's QR payload offline against central's public keys and the synced revocation list."""
    from ktpel.sync import authorisation
    from ktpel.keys.keyring import central_public_keys

    token = "".join((payload or "").split())
    if not token or len(token) > 8000:
        return Verification("UNREADABLE", reason="empty" if not token else "too long")
    from ktpel.office import credentials

    if credentials.kind_of(token):
        return _verify_credential(session, settings=settings, token=token)
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
    if revoked or local == CardState.REVOKED.value:
        return Verification(CardState.REVOKED.value, reason="revoked", card=shown)
    return Verification("VALID", card=shown)
