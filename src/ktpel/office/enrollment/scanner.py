"""Fingerprint scanner adapters: the counter asks for one finger position and gets image bytes.

A vendor SDK plugs in by implementing `ScannerAdapter`; `FolderScanner` serves scanners whose driver
drops one image per capture into a folder (the common case for USB scanners with a vendor capture tool).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Protocol, runtime_checkable

from ktpel.domain.errors import KtpelError

IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".bmp", ".jpg", ".jpeg", ".wsq", ".pgm")


class ScannerTimeout(KtpelError):
    code = "scanner_timeout"
    http_status = 504


@runtime_checkable
class ScannerAdapter(Protocol):
    """A device that captures one finger at a time by ISO position (1 right thumb … 10 left little)."""

    name: str

    def capture(self, *, finger_position: int, timeout_s: float = 30.0) -> bytes:
        """Block until the finger is scanned; return the image bytes (raise ScannerTimeout)."""
        ...


class FolderScanner:
    """Watches a folder for the image the scanner's capture tool writes, e.g. `finger_3.png` or `3.tif`.

    A file is taken once it is complete (its size stopped changing) and moved into `taken/`, so a
    rescan of the same finger picks up the new image, not the old one.
    """

    name = "folder"

    def __init__(self, folder: Path, *, poll_s: float = 0.1) -> None:
        self.folder = Path(folder)
        self.poll_s = poll_s
        self.folder.mkdir(parents=True, exist_ok=True)

    def _candidates(self, position: int) -> list[Path]:
        stems = {f"finger_{position}", str(position)}
        return sorted(p for p in self.folder.iterdir()
                      if p.is_file() and p.stem in stems and p.suffix.lower() in IMAGE_SUFFIXES)

    def capture(self, *, finger_position: int, timeout_s: float = 30.0) -> bytes:
        if not 1 <= finger_position <= 10:
            raise ValueError(f"finger position {finger_position} is not 1..10")
        deadline = time.monotonic() + timeout_s
        last_size: dict[Path, int] = {}
        while True:
            for path in self._candidates(finger_position):
                size = path.stat().st_size
                if size > 0 and last_size.get(path) == size:  # stable across one poll: fully written
                    data = path.read_bytes()
                    taken = self.folder / "taken"
                    taken.mkdir(exist_ok=True)
                    path.replace(taken / f"{time.time_ns()}_{path.name}")
                    return data
                last_size[path] = size
            if time.monotonic() > deadline:
                raise ScannerTimeout(
                    f"Pemindai tidak mengirim sidik jari {finger_position} dalam {timeout_s:.0f} detik.",
                    f"The scanner sent no image for finger {finger_position} within {timeout_s:.0f} s.",
                )
            time.sleep(self.poll_s)
