"""Fixtures for biometrics tests: the shared reference images and small synthetic inputs."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

BIO_DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"


@pytest.fixture(scope="session")
def bio_data() -> Path:
    if not (BIO_DATA / "fingerprints" / "FVC2002_DB1_B").is_dir():
        pytest.skip("../shared/data/fingerprints is absent: tests on real images need it (CI has it)")
    return BIO_DATA.resolve()


@pytest.fixture(scope="session")
def engine():
    from ktpel.biometrics import get_engine

    return get_engine()


def png_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="session")
def finger_bytes(bio_data: Path):
    """Read-only FVC2002 DB1_B images: {name: bytes} for fingers 101-103, impressions 1-3."""
    d = bio_data / "fingerprints" / "FVC2002_DB1_B"
    return {f"{f}_{i}": (d / f"{f}_{i}.tif").read_bytes() for f in (101, 102, 103) for i in (1, 2, 3)}


@pytest.fixture(scope="session")
def finger_templates(engine, finger_bytes):
    return {k: engine.extract_finger(v) for k, v in finger_bytes.items()}


@pytest.fixture(scope="session")
def face_bytes(bio_data: Path):
    d = bio_data / "faces" / "att_orl"
    return {f"s{p}_{i}": (d / f"s{p}" / f"{i}.pgm").read_bytes() for p in (1, 2, 3) for i in (1, 2)}


@pytest.fixture(scope="session")
def bank(finger_templates):
    """Synthetic fingers' fields and minutiae maps: the real FVC prints' own."""
    from ktpel.biometrics.fingerprint import synthetic as syn

    return syn.FieldBank.from_templates(list(finger_templates.values()))


@pytest.fixture(scope="session")
def distractors(bank):
    """300 synthetic fingers on the real prints' own fields: harder than unrelated real fingers."""
    from ktpel.biometrics.fingerprint import synthetic as syn

    rng = np.random.default_rng(21)
    return syn.impress(bank, syn.make_masters(bank, rng, 300), rng)
