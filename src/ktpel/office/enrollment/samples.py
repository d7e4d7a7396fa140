"""Sample recordings built from the shared reference data (ORL faces, FVC2002 DB1_B fingerprints).

Used by the demo, the bulk-import tests and the benchmark; read in place, never copied into the repo.
Resident i gets face s{i+1}/1.pgm and, for finger position p, FVC finger id 101 + (i + p - 1) mod 10 at
impression 1 + i mod 8, so neighbours differ finger by finger.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from PIL import Image, ImageDraw

FVC = ("fingerprints", "FVC2002_DB1_B")
ORL = ("faces", "att_orl")


def face_path(shared_data: Path, i: int) -> Path:
    return shared_data.joinpath(*ORL) / f"s{i % 40 + 1}" / "1.pgm"


def finger_path(shared_data: Path, i: int, position: int, *, attempt: int = 0) -> Path:
    """Resident i's finger at a position; `attempt` > 0: another impression of the same finger (a recapture)."""
    finger_id = 101 + (i + position - 1) % 10
    return shared_data.joinpath(*FVC) / f"{finger_id}_{1 + (i + attempt) % 8}.tif"


def signature_png(i: int) -> bytes:
    """A scribbled signature, different per resident."""
    img = Image.new("L", (480, 160), 255)
    pts = [(20 + k * 45, 40 + ((k * 37 + i * 23) % 90)) for k in range(10)]
    ImageDraw.Draw(img).line(pts, fill=0, width=3)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def capture_files(shared_data: Path, i: int) -> dict[str, bytes]:
    """The files of resident i: face, finger_1…finger_10, signature."""
    files = {"face": face_path(shared_data, i).read_bytes(), "signature": signature_png(i)}
    for p in range(1, 11):
        files[f"finger_{p}"] = finger_path(shared_data, i, p).read_bytes()
    return files


def write_sample_folder(*, shared_data: Path, niks: list[str], target: Path) -> Path:
    """A bulk-import folder (one sub-folder per NIK) for `ktpel office import`."""
    target.mkdir(parents=True, exist_ok=True)
    for i, nik in enumerate(niks):
        folder = target / nik
        folder.mkdir(exist_ok=True)
        (folder / "face.pgm").write_bytes(face_path(shared_data, i).read_bytes())
        (folder / "signature.png").write_bytes(signature_png(i))
        for p in range(1, 11):
            (folder / f"finger_{p}.tif").write_bytes(finger_path(shared_data, i, p).read_bytes())
        (folder / "resident.json").write_text(json.dumps({"phones": []}), encoding="utf-8")
    return target
