"""Modality conflicts: one modality says "same person", another clearly says "someone else".

Never decided by the machine: the record goes to a person (ADJUDICATION, reason `modality_conflict`).
- `face_only`: the face is strong and the fingers do not confirm it. A twin, a capture mistake, or an
  operator capturing someone else's fingers (fraud). The adjudication page names twins.
- `finger_only`: the fingers are strong and the face is a clear non-match: the same person with another
  photo (aged, glasses, another camera), or someone else's face on the same fingers.

"Strong" for a face is relative to the gallery: among N references about N·10^(−z) strangers reach a
face score z, so a face counts as strong only from z ≥ log10(N) + FACE_MARGIN (then about one probe in
10^FACE_MARGIN meets a stranger that high), and never below review_z + 1. Fingers are strong at the hit
band (their fused score, Fisher's method over the fingers compared).
"""

from __future__ import annotations

import math

FACE_ONLY, FINGER_ONLY = "face_only", "finger_only"
FACE_MARGIN = 3.0  # ≈ 0.1 % of unique people meet a stranger's face this strong
CLEAR_NON_MATCH_Z = 2.0  # a face with FMR above 1 %: no evidence of the same person


def face_strong_z(*, gallery_size: int, review_z: float) -> float:
    """The face score that counts as strong in a gallery of this size."""
    return max(review_z + 1.0, math.log10(max(gallery_size, 1)) + FACE_MARGIN)


def modality_conflict(normalised: dict[str, float], *, fuse, review_z: float, hit_z: float,  # noqa: ANN001
                      gallery_size: int) -> str | None:
    """`face_only`, `finger_only` or None for one candidate's normalised scores (`fuse`: Fisher fusion)."""
    face = normalised.get("face")
    fingers = {k: v for k, v in normalised.items() if k.startswith("finger_")}
    if face is None or not fingers:
        return None  # a modality not compared is no evidence against
    fingers_z = fuse(fingers)
    if face >= face_strong_z(gallery_size=gallery_size, review_z=review_z) and fingers_z < review_z:
        return FACE_ONLY
    if fingers_z >= hit_z and face < CLEAR_NON_MATCH_Z:
        return FINGER_ONLY
    return None
