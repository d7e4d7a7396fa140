"""ABIS contract: the request/response interface central uses for biometric 1:N deduplication.

No demographics cross this boundary: a reference id (the enrolment id) and templates only.
Templates travel as KTPB bytes (see templates.py) or, for fingerprints, ISO/IEC 19794-2 records
converted by `fingerprint.iso19794`. A commercial ABIS is plugged in by implementing `Abis`.

    insert(reference_id, templates)            -> None       (replaces an existing reference)
    identify(templates, max_candidates=10, exclude=None) -> IdentifyResponse
                                               (exclude: a reference searched as if absent, e.g. the
                                               probe's own record, already inserted)
    delete(reference_id)                       -> None       (UnknownReference if absent)
    verify(templates, reference_ids)           -> list[Candidate]   (optional: 1:few against listed
                                               references, e.g. the records demographics propose)

IdentifyResponse.decision is the best candidate's band: `hit` (same person beyond reasonable
doubt, still shown to an adjudicator before anything is revoked), `review` (adjudication queue),
`no_hit` (unique). Every candidate carries raw and normalised scores per modality (`face`,
`finger_<position>`) and the fused score (sum of -log10 FMR).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence, runtime_checkable

from ktpel.biometrics.fusion import Band
from ktpel.biometrics.gallery import Candidate, Gallery, ShardedGallery, band_of
from ktpel.biometrics.templates import Template

TemplateInput = Template | bytes


@dataclass
class IdentifyResponse:
    """Candidates best first, and the decision band of the search."""

    candidates: list[Candidate]
    decision: Band

    def to_dict(self) -> dict:
        return {"decision": self.decision.value, "candidates": [c.to_dict() for c in self.candidates]}


class Abis(Protocol):
    """Any automated biometric identification system ktpel can drive."""

    def insert(self, reference_id: str, templates: Sequence[TemplateInput]) -> None: ...

    def identify(self, templates: Sequence[TemplateInput], *, max_candidates: int = 10,
                 exclude: str | None = None) -> IdentifyResponse: ...

    def delete(self, reference_id: str) -> None: ...


@runtime_checkable
class Verifies(Protocol):
    """An ABIS that also scores a probe against listed references (1:few); optional for an adapter."""

    def verify(self, templates: Sequence[TemplateInput], reference_ids: Sequence[str]) -> list[Candidate]: ...


class BuiltinAbis:
    """The ktpel engine as an ABIS: a Gallery, or a ShardedGallery for scale-out."""

    def __init__(self, gallery: Gallery | ShardedGallery | None = None) -> None:
        self.gallery = gallery if gallery is not None else Gallery()

    def insert(self, reference_id: str, templates: Sequence[TemplateInput]) -> None:
        self.gallery.insert(reference_id, list(templates))

    def identify(self, templates: Sequence[TemplateInput], *, max_candidates: int = 10,
                 exclude: str | None = None) -> IdentifyResponse:
        cands = self.gallery.identify(list(templates), top_k=max_candidates, exclude=exclude)
        return IdentifyResponse(cands, band_of(cands))

    def delete(self, reference_id: str) -> None:
        self.gallery.delete(reference_id)

    def verify(self, templates: Sequence[TemplateInput], reference_ids: Sequence[str]) -> list[Candidate]:
        """The probe scored against each listed reference held (an absent one is left out), best first."""
        return self.gallery.verify(list(templates), reference_ids)
