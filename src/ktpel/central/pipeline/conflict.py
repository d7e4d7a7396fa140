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

One finger does not decide alone. A finger's z above what the impostor data measured (`measured_z`:
5,760 FVC impostor pairs, z 3.76) comes from the fitted tail, and strangers' fingers sometimes sit
far out in it: at 20,000 synthetic identities, 11 of 3,000 unique people met a stranger whose one
finger scored z 8–12 while the other three were noise. A candidate's fingers are therefore
*corroborated* when the fingers other than its best, fused, reach CORROBORATION_Z; if not, the best
finger counts only up to the measured range. Mates are corroborated by far (their other fingers fused:
z ≥ 8.6 for all 400 synthetic finger and both-kind duplicates of two populations of 100,000, z ≥ 19
for all 112 pairs of four real FVC fingers), so no mate loses anything. The floor is z 4 (the other fingers at
FMR 10^-4): at z 2, 6 of 8,000 unique people at 100,000 identities met a stranger whose best finger
(z 4.8–10.7) had a second at z 3.5–4.4 and the rest noise; at z 4, none, and 1 of 6,000 held out
(two fingers at z 5.1 and 5.5: a person should look; docs/abis-sizing.md, run P).
A candidate compared on a single finger (one captured) keeps its score: there is nothing to corroborate.

Demographics change the count. A candidate that the demographic stage already names as this person
(Fellegi–Sunter: probability ≥ DEMOGRAPHIC_SAME_P on name, birth date, parents, address) was not found
among N strangers: it is one of the few records those data block together, so its face needs only to beat
chance among a handful, not log10 N + 3. From DEMOGRAPHIC_FACE_Z (FMR 10^-4) such a candidate goes to a
person (`demographic_face`): the same resident recorded twice, with other fingers captured (a capture
mistake, or fraud), that the face alone cannot show at national scale (the bar is z 9 at 1M, z 11.3 at
200M, above most of ORL's genuine pairs: docs/abis-sizing.md, run D). The same data and a face below it:
namesakes born the same day, no evidence of one person. The rule's false rate is the strangers the data
name times 10^-z, so the bar rises by log10 of the records named (`demographic_face_z`): where the data
discriminate weakly, the block is no longer a handful. In the benchmark's population (one birth place and
address for all) the data named 2.3 strangers a unique person at 100,000, and the count grows with N; at a
flat z 3, one of 270 unique people went to a person at 20,000 and one at 100,000 (strangers named at 0.995
and 0.908, faces z 3.76 and 3.45; docs/abis-sizing.md, run R).

The fused score obeys the same arithmetic: it is -log10 of one comparison's false-match rate, and a
probe is compared (implicitly) with every reference, so a unique person meets a stranger at fused z
with probability about N·10^(−z). A candidate therefore goes to a person from
`review_z_at(N) = log10(N) + FPIR_MARGIN` (about one unique person in 10^FPIR_MARGIN), never below the
calibrated review band; mates fused over several fingers sit far above it (z 20–40).
"""

from __future__ import annotations

import math

FACE_ONLY, FINGER_ONLY = "face_only", "finger_only"
FACE_MARGIN = 3.0  # ≈ 0.1 % of unique people meet a stranger's face this strong
FPIR_MARGIN = 3.0  # ≈ 0.1 % of unique people meet a stranger's fused score this strong
CLEAR_NON_MATCH_Z = 2.0  # a face with FMR above 1 %: no evidence of the same person
CORROBORATION_Z = 4.0  # the other fingers, fused, at FMR 10^-4 or better: the best finger is not alone
DEMOGRAPHIC_SAME_P = 0.9  # Fellegi–Sunter: the data alone say one person
DEMOGRAPHIC_FACE_Z = 4.0  # a face at FMR 10^-4 against the few records those data block, not the gallery


def best_finger(normalised: dict[str, float], *, fuse) -> tuple[str, float] | None:  # noqa: ANN001
    """The best finger compared and its other fingers fused (what corroborates it); None under two fingers."""
    fingers = {k: v for k, v in normalised.items() if k.startswith("finger_")}
    if len(fingers) < 2:
        return None
    best = max(fingers, key=lambda k: (fingers[k], k))
    return best, fuse({k: v for k, v in fingers.items() if k != best})


def corroborated(normalised: dict[str, float], *, fuse, finger_measured_z: float) -> dict[str, float]:  # noqa: ANN001
    """The scores a decision may use: an uncorroborated best finger limited to the measured range."""
    found = best_finger(normalised, fuse=fuse)
    if found is None:
        return normalised
    best, others = found
    if normalised[best] <= finger_measured_z or others >= CORROBORATION_Z:
        return normalised
    return {**normalised, best: finger_measured_z}


def decision_scores(normalised: dict[str, float], *, fused: float, fuse,  # noqa: ANN001
                    finger_measured_z: float) -> tuple[dict[str, float], float]:
    """The scores and fused score a decision uses: the gallery's, or fused again after corroboration."""
    used = corroborated(normalised, fuse=fuse, finger_measured_z=finger_measured_z)
    return (normalised, fused) if used is normalised else (used, fuse(used))


def face_strong_z(*, gallery_size: int, review_z: float) -> float:
    """The face score that counts as strong in a gallery of this size."""
    return max(review_z + 1.0, math.log10(max(gallery_size, 1)) + FACE_MARGIN)


def review_z_at(*, gallery_size: int, review_z: float) -> float:
    """The fused score that sends a candidate to a person in a gallery of this size."""
    return max(review_z, math.log10(max(gallery_size, 1)) + FPIR_MARGIN)


def band_at(fused: float, *, gallery_size: int, review_z: float, hit_z: float) -> str:
    """`hit`, `review` or `no_hit` for a fused score, the calibrated bands moved up with the gallery."""
    review = review_z_at(gallery_size=gallery_size, review_z=review_z)
    if fused >= review + (hit_z - review_z):
        return "hit"
    return "review" if fused >= review else "no_hit"


def person_reason(normalised: dict[str, float], *, fused: float, fuse, review_z: float, hit_z: float,  # noqa: ANN001
                  gallery_size: int, finger_measured_z: float) -> tuple[str | None, str | None]:
    """Why a candidate goes to a person: (`modality_conflict` | `biometric_review` | `biometric_hit` | None,
    the conflict kind or None). `fused` is the gallery's; an uncorroborated finger is fused again."""
    normalised, fused = decision_scores(normalised, fused=fused, fuse=fuse, finger_measured_z=finger_measured_z)
    kind = modality_conflict(normalised, fuse=fuse, review_z=review_z, hit_z=hit_z, gallery_size=gallery_size)
    if kind is not None:
        return "modality_conflict", kind
    band = band_at(fused, gallery_size=gallery_size, review_z=review_z, hit_z=hit_z)
    return ("biometric_" + band if band != "no_hit" else None), None


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


def demographic_face_z(*, named: int) -> float:
    """The face's bar against the records the data name: DEMOGRAPHIC_FACE_Z against one, log10(named) more
    against several (the gallery's arithmetic, with N the records named), so the rule's false rate stays
    ~10^-DEMOGRAPHIC_FACE_Z however many strangers weak data name."""
    return DEMOGRAPHIC_FACE_Z + math.log10(max(1, named))


def demographic_face(normalised: dict[str, float], *, probability: float, named: int) -> bool:
    """Strong demographics and a face far above chance among the `named` records they name (see above)."""
    face = normalised.get("face")
    return probability >= DEMOGRAPHIC_SAME_P and face is not None and face >= demographic_face_z(named=named)
