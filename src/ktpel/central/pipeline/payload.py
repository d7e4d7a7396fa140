"""Reading an enrollment payload (`ktpel.enrollment` v1, docs/packet-format.md) strictly.

Anything that does not fit is a poison packet: it goes to the dead-letter state with the reason and
never blocks the queue. A re-recording fixes bad biometrics (FAILED/EFAC); a malformed packet is a
software or transport fault for people at the data center to look at.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from dataclasses import dataclass

from ktpel.domain.errors import KtpelError

FORMAT = "ktpel.enrollment"
VERSIONS = (1,)
TEMPLATE_KEYS = ("face", *(f"finger_{i}" for i in range(1, 11)))
REQUIRED_RESIDENT = ("nik", "name", "birth_place", "birth_date", "sex")
_TEXT_RESIDENT = ("kk_number", "blood_type", "street", "rt", "rw", "village_code", "religion", "marital_status",
                  "occupation", "citizenship", "father_name", "mother_name")


class PoisonPacket(KtpelError):
    """A packet the pipeline cannot read: dead-lettered with this reason, never retried by itself."""

    code = "poison_packet"
    http_status = 422


def _poison(what_id: str, what_en: str) -> PoisonPacket:
    return PoisonPacket(f"Paket rusak: {what_id}.", f"Malformed packet: {what_en}.")


@dataclass(frozen=True)
class EnrollmentPacket:
    enrollment_id: str
    office_code: str
    receipt_number: str
    captured_at: dt.datetime
    resident: dict
    birth_date: dt.date
    templates: dict[str, bytes]
    images: dict[str, str]  # base64 kept as is: shown to adjudicators, never decoded in the pipeline
    image_types: dict[str, str]
    exceptions: dict


def _b64map(section: object, *, name: str, allowed: tuple[str, ...] | None) -> dict[str, bytes]:
    if not isinstance(section, dict):
        raise _poison(f"bagian {name} bukan objek", f"{name} is not an object")
    out = {}
    for key, value in section.items():
        if allowed is not None and key not in allowed:
            raise _poison(f"kunci {name} tidak dikenal: {key}", f"unknown {name} key {key!r}")
        if not isinstance(value, str):
            raise _poison(f"{name}.{key} bukan base64", f"{name}.{key} is not base64 text")
        try:
            out[key] = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise _poison(f"{name}.{key} bukan base64", f"{name}.{key} is not valid base64") from None
    return out


def _check_image(key: str, data: bytes) -> None:
    from ktpel.biometrics import imageio
    from ktpel.biometrics.errors import BiometricError

    try:
        imageio.probe(data)
    except BiometricError as err:
        raise _poison(f"gambar {key} ditolak ({err.code})", f"image {key} refused ({err.code})") from None


def _checked_name(name: str) -> str:
    """The name by Dukcapil's rule (normalised); a name outside it (bidi, emoji, controls) is poison."""
    from ktpel.domain.names import NameInvalid, normalise_name

    try:
        return normalise_name(name)
    except NameInvalid as err:
        raise _poison(f"nama tidak sah: {err.message_id}", f"resident.name refused: {err.message_en}") from None


def parse(payload: object, *, packet_office: str, subject_id: str) -> EnrollmentPacket:
    """Check shape and types of an enrollment payload; raise PoisonPacket with the first problem."""
    if not isinstance(payload, dict):
        raise _poison("isi bukan objek JSON", "payload is not a JSON object")
    if payload.get("format") != FORMAT or payload.get("version") not in VERSIONS:
        raise _poison("format/versi tidak dikenal", f"unknown format/version {payload.get('format')!r}/"
                      f"{payload.get('version')!r}")
    eid = payload.get("enrollment_id")
    if not isinstance(eid, str) or not eid or len(eid) > 40:
        raise _poison("enrollment_id tidak valid", "enrollment_id missing or invalid")
    if eid != subject_id:
        raise _poison("enrollment_id tidak sama dengan subjek paket", "enrollment_id differs from the packet subject")
    office = payload.get("office_code")
    if office != packet_office:
        raise _poison("kode kantor tidak sama dengan pengirim", f"office_code {office!r} is not the sender "
                      f"{packet_office!r}")
    try:
        captured = dt.datetime.fromisoformat(str(payload.get("captured_at")))
    except ValueError:
        raise _poison("captured_at tidak valid", "captured_at is not an ISO datetime") from None
    if captured.tzinfo is None:
        raise _poison("captured_at tanpa zona waktu", "captured_at has no time zone")
    res = payload.get("resident")
    if not isinstance(res, dict):
        raise _poison("data penduduk tidak ada", "resident block missing")
    for f in REQUIRED_RESIDENT:
        if not isinstance(res.get(f), str) or not res[f].strip():
            raise _poison(f"data penduduk '{f}' kosong", f"resident.{f} missing")
    for f in _TEXT_RESIDENT:
        if res.get(f) is not None and not isinstance(res[f], str):
            raise _poison(f"data penduduk '{f}' bukan teks", f"resident.{f} is not text")
    nik = res["nik"]
    if len(nik) != 16 or not nik.isdigit():
        raise _poison("NIK bukan 16 angka", "NIK is not 16 digits")
    res = {**res, "name": _checked_name(res["name"])}
    if res["sex"] not in ("L", "P"):
        raise _poison("jenis kelamin bukan L/P", "sex is not L or P")
    try:
        birth = dt.date.fromisoformat(res["birth_date"])
    except ValueError:
        raise _poison("tanggal lahir tidak valid", "birth_date is not an ISO date") from None
    templates = _b64map(payload.get("templates", {}), name="templates", allowed=TEMPLATE_KEYS)
    for key, image in _b64map(payload.get("images", {}), name="images", allowed=None).items():
        _check_image(key, image)  # kept as base64 text, but never bigger than the decoding policy allows
    exceptions = payload.get("exceptions") or {}
    if not isinstance(exceptions, dict):
        raise _poison("exceptions bukan objek", "exceptions is not an object")
    image_types = payload.get("image_types") or {}
    return EnrollmentPacket(
        enrollment_id=eid, office_code=office, receipt_number=str(payload.get("receipt_number") or ""),
        captured_at=captured.astimezone(dt.timezone.utc), resident=res, birth_date=birth,
        templates=templates, images=dict(payload.get("images") or {}),
        image_types=image_types if isinstance(image_types, dict) else {}, exceptions=exceptions,
    )
