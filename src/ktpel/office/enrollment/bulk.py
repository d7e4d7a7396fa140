"""Bulk recording from a folder (`ktpel office import DIR`), for scanner stations and back-office catch-up.

Layout (docs/packet-format.md, "Bulk import folder"):

    DIR/<NIK>/face.(png|jpg|pgm|…)           required
    DIR/<NIK>/finger_1 … finger_10.(tif|png|…) one per ISO position; absent ones declared in resident.json
    DIR/<NIK>/signature.(png|jpg|…)          or declared {"exceptions": {"signature": {...}}}
    DIR/<NIK>/resident.json                  optional: {"missing_fingers": {"7": "amputasi"}, "phones": [...],
                                             "override_low_quality": false, corrections such as "occupation"}

Each resident is recorded in its own transaction; one bad folder is reported and the rest continue.
The form token is a hash of the folder's files, so importing the same folder twice records each once.
"""

from __future__ import annotations

import hashlib
import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ktpel.config import Settings
from ktpel.domain.errors import KtpelError
from ktpel.domain.wilayah import RegionRegistry
from ktpel.office.enrollment import service
from ktpel.office.enrollment.policy import FINGERS
from ktpel.security.access import User
from ktpel.store.db import Database

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".pgm", ".ppm", ".bmp", ".tif", ".tiff", ".webp"}


@dataclass
class ImportReport:
    recorded: list[str] = field(default_factory=list)  # enrollment ids
    repeated: list[str] = field(default_factory=list)  # already imported from this very folder
    failed: list[dict] = field(default_factory=list)  # {"nik", "code", "message_id", "message_en"}
    seconds: float = 0.0

    @property
    def residents_per_minute(self) -> float:
        return 60.0 * len(self.recorded) / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict:
        return {"recorded": len(self.recorded), "repeated": len(self.repeated), "failed": self.failed,
                "seconds": round(self.seconds, 2), "residents_per_minute": round(self.residents_per_minute, 1)}


def _image(folder: Path, stem: str) -> service.Upload | None:
    for path in sorted(folder.iterdir()):
        if path.stem == stem and path.suffix.lower() in IMAGE_SUFFIXES and path.is_file():
            return service.Upload(data=path.read_bytes(), filename=path.name)
    return None


def form_from_folder(folder: Path) -> service.CaptureForm:
    """One resident's folder as a capture form."""
    meta_path = folder / "resident.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
        if not isinstance(meta, dict):
            raise ValueError("not an object")
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser goes
        raise KtpelError("resident.json bukan objek JSON yang valid.", "resident.json is not a valid JSON object.",
                         code="demographics_invalid") from None
    meta["nik"] = folder.name
    digest = hashlib.sha256(folder.name.encode())
    for path in sorted(folder.iterdir()):
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    meta["form_token"] = "import-" + digest.hexdigest()[:40]
    form = service.capture_from_json(meta)
    form.face = _image(folder, "face")
    form.signature = _image(folder, "signature")
    for pos in FINGERS:
        up = _image(folder, f"finger_{pos}")
        if up is not None:
            form.fingers[pos] = up
    return form


def import_folder(
    db: Database, *, settings: Settings, regions: RegionRegistry, folder: Path, operator: User,
    workers: int = 1, progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Record every resident folder under `folder`; returns what was recorded and what failed, and why."""
    residents = sorted(p for p in Path(folder).iterdir() if p.is_dir() and p.name != "taken")
    report = ImportReport()
    started = time.perf_counter()

    def one(path: Path) -> tuple[Path, service.RecordingResult | None, KtpelError | None]:
        try:
            form = form_from_folder(path)
            return path, service.record_enrollment(db, settings=settings, regions=regions, form=form,
                                                   operator=operator), None
        except KtpelError as exc:
            return path, None, exc

    # extraction is numpy/OpenCV work that releases the GIL, so threads give real parallelism
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for path, result, error in pool.map(one, residents):
            if error is not None:
                report.failed.append({"nik": path.name, **error.as_dict()})
            elif result.created:
                report.recorded.append(result.enrollment_id)
            else:
                report.repeated.append(result.enrollment_id)
            if progress:
                progress(1)
    report.seconds = time.perf_counter() - started
    return report
