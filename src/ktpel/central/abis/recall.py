"""Records in the gallery whose thumb is too poor for the national search: the residents to call back.

The counter refuses such a thumb since the thumb rule (ktpel.domain.identifying_fingers); records enrolled
before it still hold them, and with the thumbs alone indexed a duplicate of such a person can slip through
(docs/abis-sizing.md, run O: 97.3 % found with only the probes under the rule, 99–100 % with the gallery
under it too). This lists them per office, from the templates central already holds.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ktpel.biometrics.templates import FingerTemplate, template_from_bytes
from ktpel.domain.identifying_fingers import IDENTIFYING_FINGERS, short_for_search
from ktpel.domain.national_record import NationalRecordState
from ktpel.store.schema.central import NationalRecordRow

BATCH = 500  # records decrypted a round trip: the scan's memory stays flat at any gallery size


@dataclass(frozen=True)
class ShortThumb:
    """One thumb of a record in the gallery with fewer minutiae than the national search needs."""

    record_id: str
    nik: str
    office_code: str
    state: str
    finger_position: int
    minutiae: int


def _in_gallery(office_code: str | None):  # noqa: ANN202
    where = [NationalRecordRow.gallery_seq.is_not(None),
             NationalRecordRow.state != NationalRecordState.REVOKED.value]
    if office_code:
        where.append(NationalRecordRow.office_code == office_code)
    return where


def count_in_gallery(session: Session, *, office_code: str | None = None) -> int:
    return session.scalar(select(func.count()).select_from(NationalRecordRow).where(*_in_gallery(office_code))) or 0


def short_thumbs(session: Session, *, office_code: str | None = None,
                 on_record: Callable[[], None] | None = None) -> Iterator[ShortThumb]:
    """Every short thumb of every record in the gallery (of one office, if given), in gallery order.
    A thumb declared missing (an exception) has no template and is not listed: there is nothing to
    capture again."""
    rows = session.execute(
        select(NationalRecordRow.id, NationalRecordRow.nik, NationalRecordRow.office_code, NationalRecordRow.state,
               NationalRecordRow.templates)
        .where(*_in_gallery(office_code)).order_by(NationalRecordRow.gallery_seq)
        .execution_options(yield_per=BATCH))
    for record_id, nik, office, state, stored in rows:
        templates = json.loads(stored)
        for position in IDENTIFYING_FINGERS:
            blob = templates.get(f"finger_{position}")
            if blob is None:
                continue
            finger = template_from_bytes(base64.b64decode(blob))
            if isinstance(finger, FingerTemplate) and short_for_search(position=position,
                                                                       minutiae=len(finger.minutiae)):
                yield ShortThumb(record_id=record_id, nik=nik, office_code=office, state=state,
                                 finger_position=position, minutiae=len(finger.minutiae))
        if on_record is not None:
            on_record()
