"""The national records' repository: central's one writer of a record's state (NationalRecord machine).

A record's `images` column is JSON in one of two forms: the images themselves, `{"data": {key: base64},
"types": {key: content type}}` (a job that brought them, the demo's seeds), or a pointer to the packet
that sync's intake holds as received, `{"packet": packet_id, "keys": [...], "types": {...}}`, so a
recording's ~1.5 MB of images is stored once at central. Readers go through image_keys() and image().
"""

from __future__ import annotations

import base64
import json
import threading
import time
import weakref
from collections import OrderedDict

from sqlalchemy.orm import Session

from ktpel.domain.national_record import NationalRecord, NationalRecordState
from ktpel.store.repository import Repository
from ktpel.store.schema.central import NationalRecordRow


class NationalRecords(Repository[NationalRecord, NationalRecordRow]):
    """Load a record's machine from its row; save its state and `national_record.*` events."""

    row_type = NationalRecordRow
    machine_type = NationalRecord


def in_gallery() -> tuple:
    """Where-clauses of the records the biometric gallery holds: numbered, and not revoked."""
    return (NationalRecordRow.gallery_seq.is_not(None),
            NationalRecordRow.state != NationalRecordState.REVOKED.value)


def left_gallery() -> tuple:
    """Where-clauses of the revoked records that once had a place in the gallery."""
    return (NationalRecordRow.gallery_seq.is_not(None),
            NationalRecordRow.state == NationalRecordState.REVOKED.value)


def decode_templates(stored: str) -> list[bytes]:
    """A record's stored templates (JSON of base64 per modality) as the engine's template bytes."""
    return [base64.b64decode(v) for v in json.loads(stored).values()]


def templates_of(row: NationalRecordRow) -> list[bytes]:
    """What the gallery holds of a record (the pipeline's mirror and the ABIS shards load the same)."""
    return decode_templates(row.templates)


def images_in_packet(*, packet_id: str, keys: list[str], types: dict[str, str]) -> str:
    """A record's `images` as a pointer to the packet sync holds (the pipeline checked them there)."""
    return json.dumps({"packet": packet_id, "keys": sorted(keys), "types": types})


def image_keys(row: NationalRecordRow) -> list[str]:
    """Which images a record has (face, signature, finger_N), without reading the images."""
    images = json.loads(row.images or "{}")
    return sorted(images["keys"] if "packet" in images else (images.get("data") or {}))


def image(session: Session, *, row: NationalRecordRow, key: str) -> tuple[str, str] | None:
    """One image of a record as (base64 text, content type), or None when it has no such image."""
    images = json.loads(row.images or "{}")
    if "packet" in images:
        held = _held_images(session, packet_id=images["packet"]) if key in images["keys"] else None
        data = (held or {}).get(key)
    else:
        data = (images.get("data") or {}).get(key)
    return None if data is None else (data, (images.get("types") or {}).get(key, "application/octet-stream"))


# An adjudication page asks for each image in its own request (up to 24 a page): the packet holding a
# record's images (~2 MB) is read, decrypted and parsed once, not once an image. A held packet is written
# once, so a kept copy is never stale; it is served only while the packet is still held (a primary-key
# lookup), and only a few are kept, briefly, since they are decrypted biometrics.
HELD_KEPT, HELD_KEPT_S = 4, 60.0
_held: "weakref.WeakKeyDictionary[object, OrderedDict[str, tuple[float, dict]]]" = weakref.WeakKeyDictionary()
_held_lock = threading.Lock()


def _held_images(session: Session, *, packet_id: str) -> dict | None:
    """The images of a packet central holds, from the few kept per database (see above)."""
    from ktpel.central.sync.intake import held_payload, is_held

    bind = session.get_bind()  # one cache per database: two databases may hold the same packet id
    now = time.monotonic()  # an age limit, not a date: no clock needed
    with _held_lock:
        kept = _held.setdefault(bind, OrderedDict())
        hit = kept.get(packet_id)
    if hit is not None and now - hit[0] < HELD_KEPT_S and is_held(session, packet_id=packet_id):
        with _held_lock:
            if packet_id in kept:
                kept.move_to_end(packet_id)
        return hit[1]
    held = held_payload(session, packet_id=packet_id)
    images = held.get("images") if isinstance(held, dict) else None
    with _held_lock:
        kept.pop(packet_id, None)
        if isinstance(images, dict):
            kept[packet_id] = (now, images)
        while len(kept) > HELD_KEPT:
            kept.popitem(last=False)
    return images if isinstance(images, dict) else None
