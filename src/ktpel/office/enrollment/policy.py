"""Recording policy, pure (no I/O): finger positions, exceptions, upload limits, when a supervisor approves."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ktpel.domain.errors import KtpelError
from ktpel.domain.identifying_fingers import short_for_search

# ISO/IEC 19794-4 finger positions, as the scanner and the form number them
FINGERS: dict[int, tuple[str, str]] = {
    1: ("ibu jari kanan", "right thumb"),
    2: ("telunjuk kanan", "right index"),
    3: ("jari tengah kanan", "right middle"),
    4: ("jari manis kanan", "right ring"),
    5: ("kelingking kanan", "right little"),
    6: ("ibu jari kiri", "left thumb"),
    7: ("telunjuk kiri", "left index"),
    8: ("jari tengah kiri", "left middle"),
    9: ("jari manis kiri", "left ring"),
    10: ("kelingking kiri", "left little"),
}
FINGER_KINDS = tuple(f"finger_{i}" for i in FINGERS)
CAPTURE_KINDS = ("face", *FINGER_KINDS, "signature")

# A 500 ppi finger TIFF is ~100 KB and a phone photo a few MB; 8 MB leaves room without inviting abuse.
MAX_UPLOAD_BYTES = 8 * 1024 * 1024
MAX_MISSING_WITHOUT_APPROVAL = 2


class ExceptionKind(str, Enum):
    """Why an item was not captured (pengecualian): recorded, never silently skipped."""

    MISSING = "missing"  # jari tidak ada (amputasi, bawaan lahir)
    INJURED = "injured"  # luka/perban, cannot be scanned today
    UNABLE = "unable"  # e.g. cannot sign

    @property
    def label_id(self) -> str:
        return {"missing": "tidak ada", "injured": "cedera", "unable": "tidak mampu"}[self.value]


class RecordingError(KtpelError):
    """A capture the counter cannot accept as given; the message says what to do."""

    code = "recording_invalid"
    http_status = 422


class UploadTooLarge(RecordingError):
    code = "upload_too_large"
    http_status = 413

    def __init__(self, *, kind: str, size: int) -> None:
        limit_mb = MAX_UPLOAD_BYTES // (1024 * 1024)
        super().__init__(
            f"Berkas {label_id(kind)} terlalu besar ({size // 1024} KB); batas {limit_mb} MB per berkas.",
            f"The {kind} file is too large ({size // 1024} KB); the limit is {limit_mb} MB per file.",
        )
        self.kind = kind


@dataclass(frozen=True)
class CaptureException:
    """An item declared not captured, with the officer's reason."""

    kind: ExceptionKind
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind.value, "reason": self.reason}


def label_id(kind: str) -> str:
    """Bahasa Indonesia name of a capture item, for messages."""
    if kind == "face":
        return "foto wajah"
    if kind == "signature":
        return "tanda tangan"
    if kind == "finger":
        return "sidik jari"
    if kind.startswith("finger_"):
        pos = int(kind.removeprefix("finger_"))
        return f"sidik jari {pos} ({FINGERS[pos][0]})"
    return kind


def too_few_for_search(kind: str, *, minutiae: int) -> bool:
    """An identifying finger (a thumb) with too few minutiae for the national search: not accepted as it
    comes. The counter asks for a recapture, and only a supervisor accepts it (worn or scarred thumbs), as
    for any low-quality capture."""
    return (kind.startswith("finger_")
            and short_for_search(position=int(kind.removeprefix("finger_")), minutiae=minutiae))


def parse_exception(kind: str, raw: dict | str | None) -> CaptureException | None:
    """A declared exception from form/API input; a declared one without a reason is refused."""
    if raw in (None, "", {}):
        return None
    if isinstance(raw, str):
        raw = {"kind": raw, "reason": ""}
    if not isinstance(raw, dict):
        raise RecordingError(f"Pengecualian {label_id(kind)} tidak valid.", f"Exception for {kind} is invalid.",
                             code="exception_invalid")
    try:
        ek = ExceptionKind(str(raw.get("kind", "")).strip().lower())
    except ValueError:
        raise RecordingError(
            f"Jenis pengecualian {label_id(kind)} harus 'missing', 'injured' atau 'unable'.",
            f"Exception kind for {kind} must be missing, injured or unable.", code="exception_invalid",
        ) from None
    reason = str(raw.get("reason", "")).strip()
    if len(reason) < 3:
        raise RecordingError(
            f"Tuliskan alasan mengapa {label_id(kind)} tidak direkam.",
            f"Give the reason why {kind} is not captured.", code="exception_reason_missing",
        )
    return CaptureException(ek, reason[:200])


def approval_reasons(*, exceptions: dict[str, CaptureException], overridden: list[str]) -> list[str]:
    """Why a supervisor must approve (empty: no approval needed)."""
    reasons = []
    missing = [k for k in exceptions if k.startswith("finger_")]
    if len(missing) > MAX_MISSING_WITHOUT_APPROVAL:
        reasons.append(f"{len(missing)} jari tidak direkam (> {MAX_MISSING_WITHOUT_APPROVAL})")
    if "face" in exceptions:
        reasons.append("foto wajah tidak direkam")
    for kind in overridden:
        reasons.append(f"kualitas rendah diterima: {label_id(kind)}")
    return reasons
