"""Reading an enrollment payload (`ktpel.enrollment`, docs/packet-format.md) with the shared packet models.

Anything that does not fit is a poison packet: it goes to the dead-letter state with the reason and
never blocks the queue. A re-recording fixes bad biometrics (FAILED/EFAC); a malformed packet is a
software or transport fault for people at the data center to look at.
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass

from pydantic import ValidationError

from ktpel.domain.errors import KtpelError
from ktpel.packets.enrollment import FORMAT, VERSIONS



# A job's payload key (intake.job_payload): the packet's images are those sync's intake holds
# (central_packets), not copied into the job. A recording's images (~1.5 MB with ten fingers) are then
# written once at central, by sync, and the national record points at them (stages.validate).
IMAGES_HELD = "images_held_by_packet"


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


def _first_problem(exc: ValidationError) -> PoisonPacket:
    """The first thing wrong, said as a person at the data center reads it."""
    err = exc.errors(include_url=False)[0]
    loc = [str(part) for part in err["loc"]]
    message = str(err["msg"]).removeprefix("Value error, ")
    where = ".".join(loc)
    if err["type"] == "missing":
        return _poison(f"{where} tidak ada", f"{where} missing")
    if loc[:1] == ["resident"] and loc[1:2] == ["sex"]:
        return _poison("jenis kelamin bukan L/P", "sex is not L or P")
    if len(loc) == 3 and loc[2] == "[key]":
        return _poison(f"kunci {loc[0]} tidak dikenal: {loc[1]}", f"unknown {loc[0]} key {loc[1]!r}")
    if err["type"] == "dict_type":
        return _poison(f"{where} bukan objek", f"{where} is not an object")
    if loc == ["enrollment_id"]:
        return _poison("enrollment_id tidak valid", "enrollment_id missing or invalid")
    if message.startswith(("NIK", "birth_date", "captured_at")):
        return _poison(f"{where} tidak valid", message)
    return _poison(f"{where} tidak valid", f"{where} {message}")


# 12 KiB of image: past the header of every format an office records (PGM, PNG, JPEG's frame header, a TIFF's
# first directory), so a 150 KB fingerprint is not decoded whole only to read its size
_HEADER_CHARS = 16_384


def _check_image(key: str, text: str) -> None:
    """The image's header says a known format within the decoding policy; the pixels are not decoded."""
    from ktpel.biometrics import imageio
    from ktpel.biometrics.errors import BiometricError

    try:
        imageio.probe(base64.b64decode(text[:_HEADER_CHARS]))
        return
    except BiometricError:
        pass  # a header past the first bytes, or a bad image: the whole file decides, and names the reason
    try:
        imageio.probe(base64.b64decode(text))
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
    """Read an enrollment payload with the versioned packet models; raise PoisonPacket with the first problem."""
    if not isinstance(payload, dict):
        raise _poison("isi bukan objek JSON", "payload is not a JSON object")
    version = payload.get("version")
    model = VERSIONS.get(version) if payload.get("format") == FORMAT and type(version) is int else None
    if model is None:
        raise _poison("format/versi tidak dikenal", f"unknown format/version {payload.get('format')!r}/"
                      f"{version!r}")
    try:
        packet = model.model_validate(payload)
    except ValidationError as exc:
        raise _first_problem(exc) from None
    if packet.enrollment_id != subject_id:
        raise _poison("enrollment_id tidak sama dengan subjek paket", "enrollment_id differs from the packet subject")
    if packet.office_code != packet_office:
        raise _poison("kode kantor tidak sama dengan pengirim", f"office_code {packet.office_code!r} is not the "
                      f"sender {packet_office!r}")
    resident = {**packet.resident.model_dump(), "name": _checked_name(packet.resident.name)}
    for key, text in packet.images.items():
        _check_image(key, text)  # kept as base64 text, but never bigger than the decoding policy allows
    return EnrollmentPacket(
        enrollment_id=packet.enrollment_id, office_code=packet.office_code,
        receipt_number=packet.receipt_number or "", captured_at=packet.captured,
        resident=resident, birth_date=packet.resident.birth,
        templates=packet.decoded("templates"), images=dict(packet.images), image_types=dict(packet.image_types),
        exceptions=dict(packet.exceptions),
    )
