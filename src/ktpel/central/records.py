"""The national records' repository: central's one writer of a record's state (NationalRecord machine)."""

from __future__ import annotations

from ktpel.domain.national_record import NationalRecord
from ktpel.store.repository import Repository
from ktpel.store.schema.central import NationalRecordRow


class NationalRecords(Repository[NationalRecord, NationalRecordRow]):
    """Load a record's machine from its row; save its state and `national_record.*` events."""

    row_type = NationalRecordRow
    machine_type = NationalRecord
