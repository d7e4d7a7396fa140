"""An office with seeded residents, an operator and a supervisor with API tokens, and real images."""

from __future__ import annotations

import datetime as dt
import io
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageEnhance
from sqlalchemy import func, select

from ktpel.domain.clock import today_wib
from ktpel.security.access import Role
from ktpel.seeding.service import seed_district
from ktpel.store.schema.core import EnrollmentRow, ResidentRow

PASSWORDS = {"op1": "operator-sandi-kuat-1", "op2": "operator-sandi-kuat-2", "spv": "supervisor-sandi-kuat"}


@dataclass
class Office:
    client: TestClient
    db: object
    settings: object
    tokens: dict[str, str]

    def headers(self, who: str = "op1") -> dict:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def unrecorded_niks(self, n: int, *, adults: bool = True) -> list[str]:
        """Residents without a recording: adults (18+, surely of card age), or, adults=False, children under 12."""
        young = today_wib() - dt.timedelta(days=18 * 366 if adults else 12 * 365)
        with self.db.unit_of_work() as s:
            recorded = select(EnrollmentRow.resident_id)
            age = ResidentRow.birth_date <= young if adults else ResidentRow.birth_date > young
            return list(s.scalars(select(ResidentRow.nik).where(ResidentRow.id.not_in(recorded), age)
                                  .order_by(ResidentRow.nik).limit(n)))

    def count(self, table) -> int:  # noqa: ANN001
        with self.db.unit_of_work() as s:
            return s.scalar(select(func.count()).select_from(table)) or 0

    def enroll(self, *, nik: str, images: dict[str, bytes], who: str = "op1", **demo) -> object:
        files = [(k, (f"{k}.bin", v, "application/octet-stream")) for k, v in images.items()]
        return self.client.post("/api/v1/enrollments", headers=self.headers(who),
                                data={"demographics": json.dumps({"nik": nik, **demo})}, files=files)


@pytest.fixture
def office(settings, db, regions, names) -> Office:
    from ktpel.security.service import add_user, issue_token
    from ktpel.web.app import create_app

    seed_district(db, regions=regions, names=names, regency_code="18.01", residents=40, seed=7,
                  today=today_wib())
    tokens = {}
    with db.unit_of_work() as s:
        for username, role in (("op1", Role.OPERATOR), ("op2", Role.OPERATOR), ("spv", Role.SUPERVISOR)):
            add_user(s, username=username, role=role, regency_code="18.01", password=PASSWORDS[username])
            tokens[username] = issue_token(s, username=username)[1]
    app = create_app(settings=settings, side="office", db=db)
    with TestClient(app) as client:
        yield Office(client=client, db=db, settings=settings, tokens=tokens)


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="session")
def images(shared_data: Path) -> dict[str, bytes]:
    """Face (ORL s1/1), ten FVC2002 DB1_B fingers (one finger id each), a drawn signature, bad samples."""
    face_path = shared_data / "faces" / "att_orl" / "s1" / "1.pgm"
    fingers = sorted((shared_data / "fingerprints" / "FVC2002_DB1_B").glob("*_1.tif"))[:10]
    face = Image.open(face_path)
    other = Image.open(shared_data / "faces" / "att_orl" / "s2" / "1.pgm")
    two = Image.new("L", (face.width * 2 + 20, face.height), 255)
    two.paste(face, (0, 0))
    two.paste(other, (face.width + 20, 0))
    sig = Image.new("L", (480, 160), 255)
    from PIL import ImageDraw

    ImageDraw.Draw(sig).line([(20, 120), (80, 40), (140, 110), (200, 50), (300, 100), (420, 60)], fill=0, width=3)
    out = {"face": face_path.read_bytes(), "signature": _png(sig)}
    out.update({f"finger_{i}": p.read_bytes() for i, p in enumerate(fingers, start=1)})
    out["bad:two_faces"] = _png(two)
    out["bad:dark_face"] = _png(ImageEnhance.Brightness(face).enhance(0.25))
    out["bad:blank"] = _png(Image.new("L", (388, 374), 255))
    out["bad:face_as_finger"] = _png(face.resize((388, 374)))
    out["bad:blank_signature"] = _png(Image.new("L", (480, 160), 255))
    return out


def capture_set(images: dict[str, bytes], **replace: bytes | None) -> dict[str, bytes]:
    """The good capture with some items replaced (None drops one)."""
    good = {k: v for k, v in images.items() if not k.startswith("bad:")}
    for k, v in replace.items():
        if v is None:
            good.pop(k, None)
        else:
            good[k] = v
    return good
