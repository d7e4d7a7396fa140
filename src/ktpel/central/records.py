"""The national records' repository: central's one writer of a record's state (NationalRecord machine)."""

from __future__ import annotations

import base64
import json

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
