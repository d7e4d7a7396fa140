"""Biometrics engine: face and fingerprint quality, templates, 1:1, 1:N gallery, fusion, ABIS contract.

Importing this package points afis at the NBIS library built by scripts/build-native.sh
(<venv>/lib/ktpel-native/libafis_lfs.so) unless AFIS_LFS_LIB is already set.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

_NATIVE = Path(sys.prefix) / "lib" / "ktpel-native" / "libafis_lfs.so"
if not os.environ.get("AFIS_LFS_LIB") and _NATIVE.is_file():
    os.environ["AFIS_LFS_LIB"] = str(_NATIVE)

from ktpel.biometrics.errors import (  # noqa: E402
    BiometricError,
    BlankImage,
    CorruptTemplate,
    FaceTooSmall,
    ImageTooSmall,
    ModalityMismatch,
    MultipleFaces,
    NativeLibraryMissing,
    NoFaceFound,
    NoRidgeStructure,
    NotAnImage,
    TooFewMinutiae,
    UnknownReference,
)
from ktpel.biometrics.fusion import Band  # noqa: E402
from ktpel.biometrics.quality import QualityReport  # noqa: E402
from ktpel.biometrics.templates import FaceTemplate, FingerTemplate, template_from_bytes  # noqa: E402



def __getattr__(name: str):  # noqa: ANN202 - PEP 562: the engine (OpenCV, SciPy, the face model) loads on use
    if name in ("Engine", "get_engine"):
        from ktpel.biometrics import engine

        return getattr(engine, name)
    raise AttributeError(f"module 'ktpel.biometrics' has no attribute {name!r}")


__all__ = [
    "Band", "BiometricError", "BlankImage", "CorruptTemplate", "Engine", "FaceTemplate", "FaceTooSmall",
    "FingerTemplate", "ImageTooSmall", "ModalityMismatch", "MultipleFaces", "NativeLibraryMissing",
    "NoFaceFound", "NoRidgeStructure", "NotAnImage", "QualityReport", "TooFewMinutiae",
    "UnknownReference", "get_engine", "template_from_bytes",
]
