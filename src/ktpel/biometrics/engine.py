"""The biometric engine the rest of ktpel calls: quality, extraction, 1:1 comparison, verification."""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence, Union

from ktpel.biometrics import imageio
import numpy as np

from ktpel.biometrics.errors import BiometricError, CorruptTemplate, FaceTooSmall, ModalityMismatch
from ktpel.biometrics.face import (
    DlibResNetModel, FaceModel, SubjectChoice, YuNetSFaceModel, fuse_face_scores, select_subject,
)
from ktpel.biometrics.fingerprint import FingerprintModel, MindtctMccModel
from ktpel.biometrics.fingerprint import extract as fpx
from ktpel.biometrics.fusion import Calibration, load_calibration
from ktpel.biometrics.quality import QualityReport, face_report, finger_report
from ktpel.biometrics.templates import FaceTemplate, FingerTemplate, Template, template_from_bytes

FACE_MIN_SIDE = 48
MIN_EYE_DISTANCE_PX = 12.0  # below this SFace's 112 px alignment has nothing left to see


def subject_of(model: FaceModel, bgr: np.ndarray) -> SubjectChoice:
    """The subject face of a photo (the one rule for live capture, bulk import and eval)."""
    choice = select_subject(model.detect(bgr), width=bgr.shape[1], height=bgr.shape[0])
    eye = float(np.linalg.norm(choice.face.landmarks[1] - choice.face.landmarks[0]))
    if eye < MIN_EYE_DISTANCE_PX:
        raise FaceTooSmall(f"eye distance {eye:.1f}px")
    return choice


TemplateLike = Union[Template, bytes]


class Engine:
    """Face and fingerprint operations; holds the models (thread-safe, reuse one instance)."""

    def __init__(self, *, face_model: FaceModel | None = None,
                 finger_model: FingerprintModel | None = None,
                 calibration: Calibration | None = None,
                 second_face_model: FaceModel | None | bool = True) -> None:
        """second_face_model: True = dlib's ResNet (the default fusion), False = SFace alone, or a model."""
        self._face_model = face_model
        self._second = second_face_model
        self.finger_model: FingerprintModel = finger_model or MindtctMccModel()
        self._calibration = calibration

    @property
    def face_model(self) -> FaceModel:
        if self._face_model is None:
            self._face_model = YuNetSFaceModel()
        return self._face_model

    @property
    def second_face_model(self):  # noqa: ANN201 - a FaceModel-like embedder or None
        if self._second is True:
            self._second = DlibResNetModel()
        return self._second or None

    @property
    def calibration(self) -> Calibration:
        if self._calibration is None:
            self._calibration = load_calibration()
        return self._calibration

    # -- face ---------------------------------------------------------------------------------
    def face_quality(self, image_bytes: bytes) -> QualityReport:
        """Quality of a face photo; bad input gives a report with ok=False, never an exception."""
        try:
            bgr = imageio.decode_bgr(image_bytes, min_side=FACE_MIN_SIDE)
            choice = subject_of(self.face_model, bgr)
            return face_report(bgr, choice.face, other_faces=len(choice.others),
                               runner_up_ratio=choice.runner_up_ratio)
        except BiometricError as err:
            return QualityReport.rejected(err)

    def extract_face(self, image_bytes: bytes) -> FaceTemplate:
        """Photo bytes → face template (NotAnImage, ImageTooSmall, NoFaceFound, MultipleFaces, FaceTooSmall)."""
        return self.extract_face_with_quality(image_bytes)[0]

    def extract_face_with_quality(self, image_bytes: bytes) -> tuple[FaceTemplate, QualityReport]:
        """The template and the quality report of one photo from one decode and one detection
        (a capture needs both; `face_quality` alone would detect again). Raises as `extract_face`."""
        bgr = imageio.decode_bgr(image_bytes, min_side=FACE_MIN_SIDE)
        choice = subject_of(self.face_model, bgr)
        q = face_report(bgr, choice.face, other_faces=len(choice.others), runner_up_ratio=choice.runner_up_ratio)
        vec = self.face_model.embed(bgr, choice.face)
        second = self.second_face_model
        if second is None:
            return FaceTemplate(vec, self.face_model.model_id, q.score), q
        return FaceTemplate(vec, self.face_model.model_id, q.score, second.embed(bgr, choice.face),
                            second.model_id), q

    def compare_faces(self, a: TemplateLike, b: TemplateLike) -> float:
        """Similarity of two face templates on SFace's cosine scale (fused with the second model when both have it)."""
        ta, tb = _as(a, FaceTemplate), _as(b, FaceTemplate)
        if ta.model_id != tb.model_id:
            raise ModalityMismatch(f"face models {ta.model_id} vs {tb.model_id}")
        primary = float(ta.embedding @ tb.embedding)
        if ta.aux is None or tb.aux is None or ta.aux_model_id != tb.aux_model_id:
            return primary
        return fuse_face_scores(primary, float(ta.aux @ tb.aux), aux_model_id=ta.aux_model_id)

    # -- finger -------------------------------------------------------------------------------
    def finger_quality(self, image_bytes: bytes) -> QualityReport:
        """Quality of a fingerprint image; bad input gives ok=False with the reason."""
        try:
            gray = imageio.decode_gray(image_bytes, min_side=fpx.MIN_SIDE)
            meas, enh = fpx.measure(gray)
            fpx.check(meas, gray)
            n = len(fpx.minutiae_from_enhanced(enh))
            if n < fpx.MIN_MINUTIAE:
                raise fpx.TooFewMinutiae(f"{n} minutiae")
            return finger_report(fpx.quality_score(meas, n), n_minutiae=n,
                                 foreground_px=meas.foreground_px, coherence=meas.coherence)
        except BiometricError as err:
            return QualityReport.rejected(err)

    def extract_finger(self, image_bytes: bytes, *, finger_position: int = 0) -> FingerTemplate:
        """500 ppi fingerprint image bytes → minutiae template (raises typed errors)."""
        gray = imageio.decode_gray(image_bytes, min_side=fpx.MIN_SIDE)
        t = self.finger_model.extract(gray)
        t.finger_position = finger_position
        return t

    def compare_fingers(self, a: TemplateLike, b: TemplateLike) -> float:
        """Raw fingerprint similarity ≥ 0 (see docs/biometrics.md for its scale)."""
        return float(self.finger_model.compare(_as(a, FingerTemplate), _as(b, FingerTemplate)))

    # -- generic ------------------------------------------------------------------------------
    def compare(self, a: TemplateLike, b: TemplateLike) -> float:
        """Raw score of two templates of the same modality."""
        ta, tb = _load(a), _load(b)
        if type(ta) is not type(tb):
            raise ModalityMismatch(f"{ta.modality} vs {tb.modality}")
        return self.compare_faces(ta, tb) if isinstance(ta, FaceTemplate) else self.compare_fingers(ta, tb)

    def verify(self, probe: TemplateLike | Sequence[TemplateLike],
               enrolled: TemplateLike | Sequence[TemplateLike]) -> tuple[bool, float]:
        """1:1 check for card pickup: best normalised score over same-modality pairs vs the FMR 1e-3 threshold.

        The returned score is z = -log10 FMR (see fusion); matched when z ≥ the calibrated
        verification threshold (default: the score giving FMR 0.1 %).
        """
        probes = [_load(p) for p in (probe if isinstance(probe, (list, tuple)) else [probe])]
        refs = [_load(r) for r in (enrolled if isinstance(enrolled, (list, tuple)) else [enrolled])]
        best: float | None = None
        for p in probes:
            for r in refs:
                if type(p) is not type(r):
                    continue
                if isinstance(p, FingerTemplate) and p.finger_position and r.finger_position \
                        and p.finger_position != r.finger_position:
                    continue
                z = self.calibration.normalise(p.modality, self.compare(p, r))
                best = z if best is None else max(best, z)
        if best is None:
            raise ModalityMismatch("no probe/enrolled pair of the same modality and finger")
        return best >= self.calibration.verify_z, best


def _load(t: TemplateLike) -> Template:
    if isinstance(t, (FaceTemplate, FingerTemplate)):
        return t
    if isinstance(t, (bytes, bytearray, memoryview)):
        return template_from_bytes(bytes(t))
    raise CorruptTemplate(f"not a template: {type(t).__name__}")


def _as(t: TemplateLike, cls: type):  # noqa: ANN202
    tt = _load(t)
    if not isinstance(tt, cls):
        raise ModalityMismatch(f"expected {cls.__name__}, got {type(tt).__name__}")
    return tt


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    """The process-wide engine (models load lazily on first use)."""
    return Engine()
