"""The faces of both records of a data-ganda case at the counter, the other office's fetched from central.

An office holds the images of its own recordings only; central holds both records'. The other record's photo
is asked for over the signed office→central API when the case is shown, and kept in this process's memory
(never on disk) while the case waits for the resident: at most PHOTO_TTL, and forgotten as soon as the case
is decided. When central cannot be reached the counter is told so, and the revocation cannot be confirmed:
nobody revokes a NIK without seeing both faces.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import re
import threading

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from ktpel.config import Settings
from ktpel.domain import clock
from ktpel.domain.errors import KtpelError
from ktpel.store.db import Database
from ktpel.store.schema.enrollment import EnrollmentCaptureRow

PHOTO_TTL = dt.timedelta(minutes=30)  # one resident's visit at the counter
FETCH_TIMEOUT_S = 3.0  # the page waits this long for central, once per page
REPLY_TYPE = "duplicate.record_photo"
_SAFE_ID = re.compile(r"[A-Za-z0-9_.-]{1,40}")


class PhotoUnavailable(KtpelError):
    """A record's face cannot be shown, so the revocation waits."""

    code = "duplicate_photo_unavailable"
    http_status = 503


@dataclasses.dataclass(frozen=True)
class RemotePhoto:
    image: bytes
    media_type: str
    kk_number: str
    fetched_at: dt.datetime


@dataclasses.dataclass(frozen=True)
class PhotoStatus:
    """How one record's face can be shown: `local` (our recording), `remote` (fetched), `offline`, `missing`."""

    source: str
    url: str | None = None

    @property
    def shown(self) -> bool:
        return self.url is not None


class PhotoCache:
    """Other offices' record photos in memory, per (case, record), until PHOTO_TTL or the case is decided."""

    def __init__(self, *, ttl: dt.timedelta = PHOTO_TTL) -> None:
        self.ttl = ttl
        self._items: dict[tuple[str, str], RemotePhoto] = {}
        self._lock = threading.Lock()

    def get(self, case_id: str, enrollment_id: str) -> RemotePhoto | None:
        with self._lock:
            item = self._items.get((case_id, enrollment_id))
            if item is not None and clock.now() - item.fetched_at > self.ttl:
                del self._items[(case_id, enrollment_id)]
                return None
            return item

    def put(self, case_id: str, enrollment_id: str, photo: RemotePhoto) -> None:
        with self._lock:
            self._items[(case_id, enrollment_id)] = photo

    def keep_only(self, open_case_ids: set[str]) -> None:
        """Drop the photos of every case that no longer waits for the resident."""
        with self._lock:
            for key in [k for k in self._items if k[0] not in open_case_ids]:
                del self._items[key]

    def forget_case(self, case_id: str) -> None:
        with self._lock:
            for key in [k for k in self._items if k[0] == case_id]:
                del self._items[key]

    def __len__(self) -> int:
        return len(self._items)


def cache_of(state) -> PhotoCache:  # noqa: ANN001 - the app's state
    cache = getattr(state, "duplicate_photos", None)
    if cache is None:
        cache = state.duplicate_photos = PhotoCache()
    return cache


def local_photos(session: Session, enrollment_ids: list[str]) -> set[str]:
    """Enrollment ids whose face photo this office holds (its own recordings)."""
    return set(session.scalars(select(EnrollmentCaptureRow.enrollment_id).where(
        EnrollmentCaptureRow.enrollment_id.in_(enrollment_ids), EnrollmentCaptureRow.kind == "face")))


def fetch_from_central(*, settings: Settings, db: Database, case_id: str, enrollment_id: str,
                       client: httpx.Client | None = None) -> RemotePhoto:
    """Ask central for one record's photo (signed request, sealed answer); Unreachable / Refused on failure.

    `client` is the app's own client to central when it has one (tests wire central's app in), else a
    short-lived one with a short timeout: a counter page does not hang on a central that is down."""
    from ktpel.security.tls import client_verify
    from ktpel.office.sync.agent import SyncAgent
    from ktpel.sync.wiring import OfficeHandlers

    if not (_SAFE_ID.fullmatch(case_id) and _SAFE_ID.fullmatch(enrollment_id)):
        raise PhotoUnavailable("Nomor kasus atau rekaman tidak valid.", "Invalid case or record id.")
    path = f"/api/v1/sync/duplicate-cases/{case_id}/records/{enrollment_id}/face"
    bound = {"case_id": case_id, "enrollment_id": enrollment_id}
    if client is not None:
        agent = SyncAgent(settings=settings, db=db, handlers=OfficeHandlers(), client=client)
        body = agent.read_sealed(path, doc_type=REPLY_TYPE, bound=bound)
    else:
        timeout = min(FETCH_TIMEOUT_S, settings.sync_timeout_s)
        with httpx.Client(timeout=timeout, verify=client_verify(settings)) as own:
            agent = SyncAgent(settings=settings, db=db, handlers=OfficeHandlers(), client=own)
            body = agent.read_sealed(path, doc_type=REPLY_TYPE, bound=bound)
    return RemotePhoto(image=base64.b64decode(body["face"]), media_type=str(body.get("media_type", "image/png")),
                       kk_number=str(body.get("kk_number") or ""), fetched_at=clock.now())


def photo_statuses(*, settings: Settings, db: Database, cache: PhotoCache, cases: list[dict],
                   local: set[str], client: httpx.Client | None = None) -> dict[str, PhotoStatus]:
    """Every record's photo status for the cases shown; the other office's photos are fetched (and cached)
    for open cases. After one failure to reach central the page does not wait on it again."""
    from ktpel.office.sync.agent import Busy, Unreachable
    from ktpel.sync.envelope import Refused
    from ktpel.keys.keyring import KeysMissing

    cache.keep_only({c["case_id"] for c in cases if c["status"] == "open"})
    statuses: dict[str, PhotoStatus] = {}
    reachable = True
    for case in cases:
        for r in case["records"]:
            eid = r["enrollment_id"]
            if eid in local:
                statuses[eid] = PhotoStatus("local", f"/rekam/{eid}/foto.jpg")
                continue
            if case["status"] != "open":
                statuses[eid] = PhotoStatus("missing")
                continue
            photo = cache.get(case["case_id"], eid)
            if photo is None and reachable:
                try:
                    photo = fetch_from_central(settings=settings, db=db, case_id=case["case_id"], enrollment_id=eid,
                                               client=client)
                    cache.put(case["case_id"], eid, photo)
                except (Unreachable, Busy, KeysMissing):  # down, shedding load, or not linked yet
                    reachable = False
                except (Refused, PhotoUnavailable, KeyError, ValueError):
                    statuses[eid] = PhotoStatus("missing")
                    continue
            if photo is None:
                statuses[eid] = PhotoStatus("offline" if not reachable else "missing")
                continue
            if photo.kk_number and not r.get("kk_number"):
                r["kk_number"] = photo.kk_number  # a case announced before central sent KK numbers
            statuses[eid] = PhotoStatus("remote", f"/data-ganda/{case['case_id']}/foto/{eid}")
    return statuses


def require_both_shown(statuses: dict[str, PhotoStatus], *, kept: dict, revoked: dict) -> None:
    """The revocation is confirmed only with both faces on the screen."""
    for record in (kept, revoked):
        status = statuses.get(record["enrollment_id"])
        if status is None or not status.shown:
            offline = status is not None and status.source == "offline"
            raise PhotoUnavailable(
                ("Pusat tidak terhubung: foto rekaman dari kantor lain belum dapat ditampilkan. "
                 if offline else "Foto wajah salah satu rekaman tidak tersedia. ")
                + "Pencabutan NIK belum dapat dikonfirmasi; coba lagi saat foto kedua rekaman tampil.",
                ("Central is unreachable: the other office's record photo cannot be shown. " if offline
                 else "The face photo of one record is not available. ")
                + "The revocation cannot be confirmed until both photos show.")
