"""The national records' repository: central's one writer of a record's state (NationalRecord machine).

A record's `images` column is JSON in one of two forms: the images themselves, `{"data": {key: base64},
"types": {key: content type}}` (a job that brought them, the demo's seeds), or a pointer to the packet
that sync's intake holds as received, `{"packet": packet_id, "keys": [...], "types": {...}}`, so a
recording's ~1.5 MB of images is stored once at central. Readers go through image_keys() and image().
"""

from __future__ import annotations

import base64
import json

from sqlalchemy.orm import Session

from ktpel.domain.national_record import NationalRecord
from ktpel.store.repository import Repository
from ktpel.store.schema.central import NationalRecordRow


class NationalRecords(Repository[NationalRecord, NationalRecordRow]):
    """Load a record's machine from its row; save its state and `national_record.*` events."""

    row_type = NationalRecordRow
    machine_type = NationalRecord


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
    from ktpel.central.sync.intake import held_payload

    images = json.loads(row.images or "{}")
    if "packet" in images:
        held = held_payload(session, packet_id=images["packet"]) if key in images["keys"] else None
        data = (held.get("images") or {}).get(key) if isinstance(held, dict) else None
    else:
        data = (images.get("data") or {}).get(key)
    return None if data is None else (data, (images.get("types") or {}).get(key, "application/octet-stream"))
