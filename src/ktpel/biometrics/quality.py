"""Quality reports for face photos and fingerprint images: a 0-100 score with coded reasons."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from ktpel.biometrics.errors import BiometricError
from ktpel.biometrics.face import DetectedFace
from ktpel.domain.identifying_fingers import IDENTIFYING_MIN_MINUTIAE

OK_THRESHOLD = 50.0

# code → (Bahasa Indonesia, English)
REASONS: dict[str, tuple[str, str]] = {
    "face_small": ("wajah terlalu kecil, dekatkan kamera", "face too small, move closer"),
    "blurry": ("gambar buram", "image is blurry"),
    "pose_yaw": ("wajah tidak menghadap lurus ke kamera", "face is turned sideways"),
    "pose_roll": ("kepala miring", "head is tilted"),
    "eyes_not_visible": ("mata tidak terlihat jelas", "eyes not clearly visible"),
    "too_dark": ("pencahayaan terlalu gelap", "lighting too dark"),
    "too_bright": ("pencahayaan terlalu terang", "lighting too bright"),
    "low_contrast": ("kontras rendah", "low contrast"),
    "uneven_light": ("pencahayaan tidak merata", "uneven lighting"),
    "low_detection_confidence": ("keyakinan deteksi wajah rendah", "low face detection confidence"),
    "second_face": ("ada wajah lain di foto; pemohon tetap jelas sebagai subjek",
                    "another face is in the photo; the applicant is still clearly the subject"),
    "few_minutiae": ("titik minusi sedikit", "few minutiae"),
    "small_area": ("area sidik jari kecil", "small fingerprint area"),
    "weak_ridges": ("guratan kurang jelas", "weak ridge clarity"),
}


def reason(code: str) -> str:
    """'code: Indonesian / English' for one reason code."""
    idn, en = REASONS[code]
    return f"{code}: {idn} / {en}"


@dataclass
class QualityReport:
    """Score 0-100, whether it is acceptable for enrolment, and the reasons that lowered it."""

    score: float
    ok: bool
    reasons: list[str] = field(default_factory=list)
    measures: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # accepted, but worth the operator's attention
    refused: str = ""  # error code when the image could not be used at all (no face, two subjects …)

    @classmethod
    def rejected(cls, err: BiometricError) -> "QualityReport":
        """A zero-score report carrying a typed error's code and messages."""
        return cls(0.0, False, [f"{err.code}: {err.message_id} / {err.message_en}"], {}, refused=err.code)

    def to_dict(self) -> dict:
        return {"score": self.score, "ok": self.ok, "reasons": list(self.reasons), "measures": self.measures,
                "warnings": list(self.warnings), "refused": self.refused}


def face_report(bgr: np.ndarray, face: DetectedFace, *, other_faces: int = 0,
                runner_up_ratio: float = 0.0) -> QualityReport:
    """Size, sharpness, pose, eyes and illumination of a detected face; other faces are a warning."""
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    x, y, w, h = (int(round(v)) for v in face.box)
    x0, y0 = max(x, 0), max(y, 0)
    crop = gray[y0 : max(y + h, y0 + 1), x0 : max(x + w, x0 + 1)]
    lm = face.landmarks
    eye_dist = float(np.linalg.norm(lm[1] - lm[0]))
    roll = float(np.degrees(np.arctan2(lm[1, 1] - lm[0, 1], lm[1, 0] - lm[0, 0])))
    mid = (lm[0] + lm[1]) / 2
    yaw_ratio = float((lm[2, 0] - mid[0]) / max(eye_dist, 1e-6))  # nose offset, 0 when frontal
    scale = 100.0 / max(w, 1)
    small = cv2.resize(crop, (100, max(int(crop.shape[0] * scale), 1))) if crop.size else crop
    sharp = float(cv2.Laplacian(small, cv2.CV_64F).var()) if small.size else 0.0
    mean = float(crop.mean()) if crop.size else 0.0
    contrast = float(crop.std()) if crop.size else 0.0
    half = crop.shape[1] // 2
    uneven = abs(float(crop[:, :half].mean()) - float(crop[:, half:].mean())) if half else 0.0
    m = {"face_width_px": float(w), "eye_distance_px": eye_dist, "sharpness": sharp, "roll_deg": roll,
         "yaw_ratio": yaw_ratio, "brightness": mean, "contrast": contrast, "uneven": uneven,
         "detection_score": face.score}
    penalties: list[tuple[str, float]] = []
    if eye_dist < 16:
        penalties.append(("face_small", 60.0))
    elif eye_dist < 28:
        penalties.append(("face_small", 15.0))
    if sharp < 20:
        penalties.append(("blurry", 35.0))
    elif sharp < 60:
        penalties.append(("blurry", 10.0))
    if abs(yaw_ratio) > 0.35:
        penalties.append(("pose_yaw", 30.0))
    elif abs(yaw_ratio) > 0.2:
        penalties.append(("pose_yaw", 10.0))
    if abs(roll) > 25:
        penalties.append(("pose_roll", 25.0))
    elif abs(roll) > 12:
        penalties.append(("pose_roll", 8.0))
    inside = all(x - 0.1 * w <= px <= x + 1.1 * w and y - 0.1 * h <= py <= y + 1.1 * h for px, py in lm[:2])
    if not inside or eye_dist < 0.2 * w:
        penalties.append(("eyes_not_visible", 40.0))
    if mean < 40:
        penalties.append(("too_dark", 25.0))
    elif mean > 220:
        penalties.append(("too_bright", 25.0))
    if contrast < 15:
        penalties.append(("low_contrast", 20.0))
    if uneven > 60:
        penalties.append(("uneven_light", 10.0))
    if face.score < 0.75:
        penalties.append(("low_detection_confidence", 10.0))
    score = max(0.0, 100.0 - sum(p for _, p in penalties))
    m.update({"other_faces": float(other_faces), "runner_up_prominence": float(runner_up_ratio)})
    warnings = [reason("second_face")] if other_faces else []
    return QualityReport(round(score, 1), score >= OK_THRESHOLD, [reason(c) for c, _ in penalties], m, warnings)


# Below this many minutiae a print is remarked `few_minutiae`: the floor the national search needs of a
# thumb, below which the office's counter refuses one, so a refused thumb always names this reason.
FEW_MINUTIAE = IDENTIFYING_MIN_MINUTIAE


def finger_report(score: float, *, n_minutiae: int, foreground_px: int, coherence: float) -> QualityReport:
    """Report for a fingerprint that passed the hard gates (blank, no ridges, too small)."""
    reasons = []
    if n_minutiae < FEW_MINUTIAE:
        reasons.append(reason("few_minutiae"))
    if foreground_px < 30000:
        reasons.append(reason("small_area"))
    if coherence < 0.4:
        reasons.append(reason("weak_ridges"))
    m = {"minutiae": float(n_minutiae), "foreground_px": float(foreground_px), "coherence": coherence}
    return QualityReport(score, score >= OK_THRESHOLD * 0.6, reasons, m)
