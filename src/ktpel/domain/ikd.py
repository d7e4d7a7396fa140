"""IKD (Identitas Kependudukan Digital) activation at the counter, as a pure state machine.

Flow (Permendagri 72/2022): contact details with consent → selfie verified 1:1 against the enrolled face →
the officer shows a QR that the resident's device scans → a one-time code goes to the resident's phone →
the code entered on the device activates the digital ID. Each step only from the one before.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from enum import Enum

from ktpel.domain.errors import KtpelError
from ktpel.domain.state_machine import StateMachine

MAX_CODE_ATTEMPTS = 5
CODE_DIGITS = 6
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[A-Za-z]{2,24}$")


class IkdState(str, Enum):
    PENDING_SELFIE = "PENDING_SELFIE"  # contact and consent recorded
    PENDING_SCAN = "PENDING_SCAN"  # selfie matched: the officer's QR is on screen
    PENDING_CODE = "PENDING_CODE"  # device scanned; one-time code sent
    ACTIVE = "ACTIVE"  # the digital ID is issued
    FAILED = "FAILED"  # too many refused selfies or codes: start again, at the counter
    REVOKED = "REVOKED"

    @property
    def label_id(self) -> str:
        return {"PENDING_SELFIE": "menunggu swafoto", "PENDING_SCAN": "menunggu pindai QR",
                "PENDING_CODE": "menunggu kode aktivasi", "ACTIVE": "aktif", "FAILED": "gagal",
                "REVOKED": "dicabut"}[self.value]


class IkdRefused(KtpelError):
    code = "ikd_refused"
    http_status = 409


_I = IkdState


def code_hash(*, activation_id: str, code: str) -> str:
    """What is stored of a one-time code: keyed by the activation, so equal codes never share a hash."""
    return hmac.new(activation_id.encode(), code.strip().encode(), hashlib.sha256).hexdigest()


def check_contact(*, phone: str, email: str, consent: bool) -> None:
    errors = []
    if not consent:
        errors.append(("Penduduk harus menyetujui penggunaan nomor telepon dan email untuk IKD.",
                       "The resident must consent to the phone and email being used for the IKD."))
    if not EMAIL_RE.match(email.strip()):
        errors.append(("Alamat email tidak valid.", "The email address is not valid."))
    if not phone.strip():
        errors.append(("Nomor telepon wajib diisi.", "A phone number is required."))
    if errors:
        raise IkdRefused("; ".join(e[0] for e in errors), "; ".join(e[1] for e in errors), code="ikd_contact")


class IkdActivation(StateMachine[IkdState]):
    ENTITY = "ikd"
    TRANSITIONS = {
        "selfie_matched": (frozenset({_I.PENDING_SELFIE}), _I.PENDING_SCAN),
        "selfie_refused": (frozenset({_I.PENDING_SELFIE}), _I.PENDING_SELFIE),
        "scanned": (frozenset({_I.PENDING_SCAN}), _I.PENDING_CODE),
        "activate": (frozenset({_I.PENDING_CODE}), _I.ACTIVE),
        "fail": (frozenset({_I.PENDING_SELFIE, _I.PENDING_SCAN, _I.PENDING_CODE}), _I.FAILED),
        "revoke": (frozenset({_I.ACTIVE}), _I.REVOKED),
    }

    def __init__(self, *, id: str, state: IkdState = _I.PENDING_SELFIE) -> None:
        super().__init__(id=id, state=state)

    def _require(self, action: str, id_: str, en: str) -> None:
        if not self.can(action):
            raise IkdRefused(f"{id_} (status: {self.state.label_id}).", f"{en} (state: {self.state.value}).",
                             code="ikd_wrong_step")

    def selfie(self, *, matched: bool, score: float, threshold: float, attempts: int, max_attempts: int) -> None:
        """Record a 1:1 result; a refused selfie keeps the step, until `max_attempts` refusals fail it."""
        self._require("selfie_matched", "Swafoto tidak diharapkan pada langkah ini", "No selfie expected now")
        if matched:
            self._apply("selfie_matched", score=round(score, 2))
            return
        self._apply("selfie_refused", score=round(score, 2))
        if attempts >= max_attempts:
            self._apply("fail", reason="selfie")
        raise IkdRefused(
            f"Swafoto TIDAK cocok dengan wajah terekam (skor 1:1 {score:.2f}, ambang {threshold:.2f}); "
            f"percobaan {attempts} dari {max_attempts}.",
            f"The selfie does NOT match the enrolled face (1:1 score {score:.2f}, threshold {threshold:.2f}); "
            f"attempt {attempts} of {max_attempts}.", code="ikd_selfie_mismatch")

    def scan(self) -> None:
        self._require("scanned", "QR petugas belum siap", "The officer QR is not ready")
        self._apply("scanned")

    def enter_code(self, *, matches: bool, used: bool, expired: bool, attempts: int) -> None:
        """The code the device sent: refused when replayed, expired or wrong; five wrong ones fail it."""
        if used or self.state is _I.ACTIVE:
            raise IkdRefused("Kode aktivasi ini sudah dipakai dan tidak berlaku lagi.",
                             "This activation code was already used.", code="ikd_code_replayed")
        self._require("activate", "Kode aktivasi tidak diharapkan pada langkah ini", "No code expected now")
        if expired:
            raise IkdRefused("Kode aktivasi sudah kedaluwarsa: pindai ulang QR petugas.",
                             "The activation code expired: scan the officer QR again.", code="ikd_code_expired")
        if not matches:
            if attempts >= MAX_CODE_ATTEMPTS:
                self._apply("fail", reason="code")
            raise IkdRefused("Kode aktivasi salah.", "Wrong activation code.", code="ikd_code_wrong")
        self._apply("activate")

    def revoke(self, *, reason: str) -> None:
        self._require("revoke", "IKD tidak aktif", "The IKD is not active")
        self._apply("revoke", reason=reason)


def code_expired(*, expires_at: dt.datetime | None, now: dt.datetime) -> bool:
    return expires_at is None or now > expires_at
