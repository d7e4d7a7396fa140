"""Checking captured files before anything is stored: size, decodability, quality, template extraction.

Runs outside any transaction (it is the slow part: seconds of image work); cheap checks on every file come
first so a bad file is reported before the extraction starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ktpel.biometrics import imageio
from ktpel.domain.identifying_fingers import IDENTIFYING_MIN_MINUTIAE
from ktpel.office.enrollment.policy import (
    CAPTURE_KINDS, FINGER_KINDS, FINGERS, MAX_UPLOAD_BYTES, CaptureException, RecordingError,
    UploadTooLarge, label_id, parse_exception, too_few_for_search,
)

RECAPTURE_ID = "Silakan rekam ulang."
RECAPTURE_EN = "Please capture again."


class CaptureRejected(RecordingError):
    """The biometric engine could not use an image (not an image, no face, blank fingerprint …)."""

    code = "capture_rejected"


class LowQuality(RecordingError):
    """Quality below the threshold and not accepted by override; `kind` is the item to capture again."""

    code = "low_quality"
    kind: str = ""


# -- input ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Upload:
    """One uploaded file as the counter received it."""

    data: bytes
    filename: str = ""
    content_type: str = ""


@dataclass
class CaptureForm:
    """Everything captured at the counter for one resident (the web form and the API fill the same)."""

    nik: str
    form_token: str
    face: Upload | None = None
    fingers: dict[int, Upload] = field(default_factory=dict)
    signature: Upload | None = None
    signature_typed: bool = False  # the signature is a typed name rendered by the server (keyboard-only signing)
    exceptions: dict[str, dict | str] = field(default_factory=dict)
    corrections: dict[str, str] = field(default_factory=dict)
    phones: list[tuple[str, bool]] = field(default_factory=list)  # (number, consent)
    override_low_quality: bool = False


@dataclass
class _Captured:
    kind: str
    upload: Upload
    content_type: str
    template: bytes | None
    quality: dict


def assess(kind: str, data: bytes) -> dict:
    """Live quality of one capture (kind: face, finger, or finger_1 … finger_10 where the position matters):
    score, ok, reasons, and a re-capture prompt when below threshold."""
    from ktpel.biometrics import get_engine

    _check_size(kind, data)
    engine = get_engine()
    return _assessment(kind, engine.face_quality(data) if kind == "face" else engine.finger_quality(data))


def _assessment(kind: str, report) -> dict:  # noqa: ANN001 - a biometrics QualityReport
    out = {"kind": kind, "score": round(float(report.score), 1), "ok": bool(report.ok),
           "reasons": list(report.reasons), "warnings": list(report.warnings)}
    if report.refused:  # the image is unusable: say which problem, not a score
        idn, en = report.reasons[0].split(": ", 1)[1].split(" / ", 1)
        out["refused"] = report.refused
        again_id, again_en = ("", "") if "ulang" in idn else (f" {RECAPTURE_ID}", f" {RECAPTURE_EN}")
        out["prompt_id"] = f"{label_id(kind).capitalize()} ditolak: {idn}{again_id}"
        out["prompt_en"] = f"{kind} refused: {en}{again_en}"
    elif not report.ok:
        out["prompt_id"] = f"Kualitas {label_id(kind)} kurang ({out['score']:.0f}). {RECAPTURE_ID}"
        out["prompt_en"] = (f"{'Fingerprint' if kind.startswith('finger') else 'Face photo'} quality is too low "
                            f"({out['score']:.0f}). {RECAPTURE_EN}")
    elif too_few_for_search(kind, minutiae=int(report.measures.get("minutiae", IDENTIFYING_MIN_MINUTIAE))):
        n = int(report.measures["minutiae"])
        out["ok"] = False
        out["prompt_id"] = (f"{label_id(kind).capitalize()}: hanya {n} titik minusi; ibu jari perlu paling sedikit "
                            f"{IDENTIFYING_MIN_MINUTIAE} karena dipakai untuk pencarian nasional. {RECAPTURE_ID}")
        finger = FINGERS[int(kind.removeprefix("finger_"))][1]
        out["prompt_en"] = (f"The {finger} has only {n} minutiae; a thumb needs at least {IDENTIFYING_MIN_MINUTIAE} "
                            f"because the national search relies on it. {RECAPTURE_EN}")
    return out


# -- capture processing (outside the transaction) -------------------------------------------------------
def _check_size(kind: str, data: bytes) -> None:
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadTooLarge(kind=kind, size=len(data))
    if not data:
        raise CaptureRejected(f"Berkas {label_id(kind)} kosong. {RECAPTURE_ID}",
                              f"The {kind} file is empty. {RECAPTURE_EN}", code="empty_upload")


def _rejected(kind: str, err) -> RecordingError:  # noqa: ANN001 - a BiometricError
    if err.code == "decoder_busy":
        return _decode_refused(kind, err)
    return CaptureRejected(
        f"{label_id(kind).capitalize()}: {err.message_id} {RECAPTURE_ID}",
        f"{kind}: {err.message_en} {RECAPTURE_EN}",
        code=err.code,
    )


class DecoderBusy(RecordingError):
    """Every decode slot is taken for longer than the policy waits: try again (nothing was stored)."""

    code = "decoder_busy"
    http_status = 503


def _decode_refused(kind: str, err) -> RecordingError:  # noqa: ANN001 - a BiometricError of imageio
    from ktpel.biometrics.errors import DecoderBusy as Busy, ImageTooLarge

    if isinstance(err, Busy):
        return DecoderBusy("Server sedang sibuk memproses gambar; kirim ulang sebentar lagi.",
                           "The server is busy decoding images; send again shortly.")
    if isinstance(err, ImageTooLarge):
        mpx = imageio.MAX_PIXELS // 1_000_000
        return CaptureRejected(
            f"Resolusi {label_id(kind)} terlalu besar (paling banyak {mpx} megapiksel). {RECAPTURE_ID}",
            f"The {kind} image has too many pixels (at most {mpx} megapixels). {RECAPTURE_EN}",
            code="image_too_large")
    return CaptureRejected(
        f"Berkas {label_id(kind)} bukan gambar yang dapat dibaca (rusak atau terpotong). {RECAPTURE_ID}",
        f"The {kind} file is not a readable image (corrupt or truncated). {RECAPTURE_EN}",
        code="not_an_image")


def _probe(kind: str, data: bytes) -> None:
    from ktpel.biometrics.errors import BiometricError

    try:
        imageio.probe(data)
    except BiometricError as err:
        raise _decode_refused(kind, err) from None


def _image_type(kind: str, data: bytes) -> str:
    """Content type of an image, refusing what the decoding policy refuses: too many pixels (read from the
    header, before decoding), anything PIL cannot fully decode (truncated files too)."""
    from ktpel.biometrics.errors import BiometricError

    try:
        fmt = imageio.probe(data).format
        with imageio.open_bounded(data):
            pass
    except BiometricError as err:
        raise _decode_refused(kind, err) from None
    return {"jpeg": "image/jpeg", "png": "image/png", "tiff": "image/tiff", "bmp": "image/bmp",
            "ppm": "image/x-portable-graymap", "webp": "image/webp", "gif": "image/gif"}.get(
        fmt, "application/octet-stream")


def _biometric(kind: str, upload: Upload, *, content_type: str, override: bool,
               overridden: list[str]) -> _Captured:
    from ktpel.biometrics import BiometricError, get_engine

    engine = get_engine()
    try:
        if kind == "face":  # one detection gives the template and the report
            face, report = engine.extract_face_with_quality(upload.data)
            template, quality = face.to_bytes(), _assessment(kind, report)
        else:
            position = int(kind.removeprefix("finger_"))
            template = engine.extract_finger(upload.data, finger_position=position).to_bytes()
            quality = assess(kind, upload.data)
    except BiometricError as err:
        raise _rejected(kind, err) from None
    if not quality["ok"]:
        if not override:
            err = LowQuality(
                f"{quality['prompt_id']} Alasan: {'; '.join(quality['reasons']) or '-'}. "
                "Atau centang 'terima kualitas rendah' (perlu persetujuan supervisor).",
                f"{quality['prompt_en']} Or tick 'accept low quality' (needs supervisor approval).",
            )
            err.kind = kind
            raise err
        quality["overridden"] = True
        overridden.append(kind)
    return _Captured(kind, upload, content_type, template, quality)


def _signature(upload: Upload, *, typed: bool = False) -> _Captured:
    _check_size("signature", upload.data)
    content_type = _image_type("signature", upload.data)
    from ktpel.biometrics.errors import BiometricError

    try:
        with imageio.open_bounded(upload.data) as img:
            lo, hi = img.convert("L").getextrema()
    except BiometricError as err:
        raise _decode_refused("signature", err) from None
    if hi - lo < 40:  # a blank pad: nothing was drawn
        raise CaptureRejected(f"Tanda tangan kosong. {RECAPTURE_ID}", f"The signature is blank. {RECAPTURE_EN}",
                              code="blank_signature")
    return _Captured("signature", upload, content_type, None, {"ok": True, "typed": True} if typed else {"ok": True})


def process_captures(form: CaptureForm) -> tuple[list[_Captured], dict[str, CaptureException], list[str]]:
    """Validate and extract every item; raise on the first one the counter must redo.

    Returns the captured items, the declared exceptions, and the items whose low quality was accepted.
    """
    uploads: dict[str, Upload | None] = {"face": form.face, "signature": form.signature}
    uploads.update({f"finger_{p}": u for p, u in form.fingers.items()})
    unknown = set(form.exceptions) - set(CAPTURE_KINDS)
    if unknown:
        raise RecordingError(f"Jenis rekaman tidak dikenal: {', '.join(sorted(unknown))}.",
                             f"Unknown capture items: {', '.join(sorted(unknown))}.", code="unknown_item")
    exceptions: dict[str, CaptureException] = {}
    for kind in CAPTURE_KINDS:
        exc = parse_exception(kind, form.exceptions.get(kind))
        has_upload = uploads.get(kind) is not None and len(uploads[kind].data) > 0
        if exc is not None and kind == "face":
            raise RecordingError("Foto wajah wajib direkam.", "A face photo is required.", code="face_required")
        if exc is not None and has_upload:
            raise RecordingError(
                f"{label_id(kind).capitalize()} diunggah sekaligus ditandai tidak direkam: pilih salah satu.",
                f"{kind} is both uploaded and declared not captured: choose one.", code="exception_conflict")
        if exc is None and not has_upload:
            raise RecordingError(
                f"{label_id(kind).capitalize()} belum direkam: unggah/pindai, atau tandai "
                "tidak ada/cedera dengan alasannya.",
                f"{kind} is not captured: upload/scan it, or declare it missing/injured with a reason.",
                code="capture_missing")
        if exc is not None:
            exceptions[kind] = exc
    # cheap checks on every file first, so a bad file is reported before seconds of extraction
    content_types = {}
    for kind in CAPTURE_KINDS:
        if kind not in exceptions:
            _check_size(kind, uploads[kind].data)
            _probe(kind, uploads[kind].data)  # headers only: a pixel bomb anywhere is refused before decoding
    for kind in CAPTURE_KINDS:
        if kind not in exceptions:
            content_types[kind] = _image_type(kind, uploads[kind].data)
    captured = [] if "signature" in exceptions else [_signature(form.signature, typed=form.signature_typed)]
    overridden: list[str] = []
    for kind in ("face", *FINGER_KINDS):
        if kind not in exceptions:
            captured.append(_biometric(kind, uploads[kind], content_type=content_types[kind],
                                       override=form.override_low_quality, overridden=overridden))
    return captured, exceptions, overridden
