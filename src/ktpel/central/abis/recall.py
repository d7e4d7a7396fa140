"""Records in the gallery whose thumb is too poor for the national search: the residents to call back.

The counter refuses such a thumb since the thumb rule (ktpel.domain.identifying_fingers); records enrolled
before it still hold them, and with the thumbs alone indexed a duplicate of such a person can slip through
(docs/abis-sizing.md, run O: 97.3 % found with only the probes under the rule, 99–100 % with the gallery
under it too). The pipeline's quality stage counts a record's short thumbs (`short_thumbs`) as it parses
the templates, so the list is an indexed query; records stored before that count are counted once here
(their templates decrypted a batch at a time, the count written back), then never again.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ktpel.biometrics.templates import FingerTemplate, template_from_bytes
from ktpel.central.records import in_gallery
from ktpel.domain.identifying_fingers import IDENTIFYING_FINGERS, short_of
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
    where = list(in_gallery())
    if office_code:
        where.append(NationalRecordRow.office_code == office_code)
    return where


def count_in_gallery(session: Session, *, office_code: str | None = None) -> int:
    return session.scalar(select(func.count()).select_from(NationalRecordRow).where(*_in_gallery(office_code))) or 0


def count_older_records(db, *, office_code: str | None = None,  # noqa: ANN001
                        on_record: Callable[[], None] | None = None) -> int:
    """Count the short thumbs of the records in the gallery stored before the quality stage counted them,
    and store each count: one transaction a batch, in gallery order, so an interrupted run keeps what it
    did. Returns how many records were counted."""
    done, after = 0, -1
    while True:
        with db.unit_of_work() as s:
            rows = s.execute(
                select(NationalRecordRow.id, NationalRecordRow.gallery_seq, NationalRecordRow.templates)
                .where(*_in_gallery(office_code), NationalRecordRow.short_thumbs.is_(None),
                       NationalRecordRow.gallery_seq > after)
                .order_by(NationalRecordRow.gallery_seq).limit(BATCH)).all()
            if not rows:
                return done
            counts = []
            for record_id, _, stored in rows:
                counts.append({"id": record_id, "short_thumbs": len(_short_of(json.loads(stored)))})
                if on_record is not None:
                    on_record()
            s.execute(update(NationalRecordRow), counts)  # one bulk UPDATE by primary key a batch
            done += len(rows)
            after = rows[-1][1]


def count_uncounted(session: Session, *, office_code: str | None = None) -> int:
    return session.scalar(select(func.count()).select_from(NationalRecordRow).where(
        *_in_gallery(office_code), NationalRecordRow.short_thumbs.is_(None))) or 0


def short_thumbs(session: Session, *, office_code: str | None = None) -> Iterator[ShortThumb]:
    """Every short thumb of every counted record in the gallery with one (of one office, if given), in
    gallery order: only those records are decrypted. A thumb declared missing (an exception) has no
    template and is not listed: there is nothing to capture again."""
    rows = session.execute(
        select(NationalRecordRow.id, NationalRecordRow.nik, NationalRecordRow.office_code, NationalRecordRow.state,
               NationalRecordRow.templates)
        .where(*_in_gallery(office_code), NationalRecordRow.short_thumbs > 0)
        .order_by(NationalRecordRow.gallery_seq).execution_options(yield_per=BATCH))
    for record_id, nik, office, state, stored in rows:
        for position, minutiae in _short_of(json.loads(stored)).items():
            yield ShortThumb(record_id=record_id, nik=nik, office_code=office, state=state,
                             finger_position=position, minutiae=minutiae)


def _short_of(templates: dict[str, str]) -> dict[int, int]:
    """Minutiae of each identifying finger short for the search, by position (templates: key -> base64)."""
    minutiae = {}
    for position in IDENTIFYING_FINGERS:
        blob = templates.get(f"finger_{position}")
        finger = template_from_bytes(base64.b64decode(blob)) if blob is not None else None
        if isinstance(finger, FingerTemplate):
            minutiae[position] = len(finger.minutiae)
    return short_of(minutiae)
