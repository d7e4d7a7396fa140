"""Adjudication pages and API (central, role adjudicator)."""

from __future__ import annotations


from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from pydantic import BaseModel

from ktpel.central.adjudication import service
from ktpel.domain.errors import KtpelError
from ktpel.security.access import Role, User, requires
from ktpel.web.responses import redirect
from ktpel.web.templating import render
from ktpel.web.params import Limit
from ktpel.central.adjudication.schemas import AdjudicationDecided, AdjudicationDossier, AdjudicationQueue

router = APIRouter()
# the queue (ids, scores, waiting time) is operational; the dossier behind an item (names, parents,
# street, faces, fingers, signatures) is for adjudicators only (least privilege, docs/security.md)
readers = requires(Role.ADJUDICATOR, Role.CENTER_ADMIN)
deciders = requires(Role.ADJUDICATOR)
dossier = requires(Role.ADJUDICATOR)


def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.get("/adjudikasi", include_in_schema=False, dependencies=[Depends(readers)])
def queue_page(request: Request, done: str | None = None):  # noqa: ANN201
    """The queue: most urgent first (biometric hits, demographic agreement, waiting time)."""
    with request.app.state.db.unit_of_work() as s:
        items = service.queue(s)
    return render(request, "central/adjudication_queue.html", {"items": items, "done": done})


@router.get("/adjudikasi/{item_id}", include_in_schema=False, dependencies=[Depends(dossier)])
def compare_page(item_id: str, request: Request):  # noqa: ANN201
    with request.app.state.db.unit_of_work() as s:
        view = service.compare_records(s, adjudication_id=item_id)
    return render(request, "central/adjudication_compare.html", {"v": view, "error": None})


@router.post("/adjudikasi/{item_id}/keputusan", include_in_schema=False)
def decide_form(item_id: str, request: Request, decision: str = Form(...), reason: str = Form(""),  # noqa: ANN201
                version: int = Form(...), user: User = Depends(deciders)):
    """One adjudicator's decision; a stale page (someone decided first) shows why and changes nothing."""
    db = request.app.state.db
    try:
        with db.unit_of_work() as s:
            service.decide(s, settings=request.app.state.settings, adjudication_id=item_id, decision=decision,
                           reason=reason, adjudicator=user.username, version=version, source_ip=_ip(request))
    except KtpelError as exc:
        with db.unit_of_work() as s:
            view = service.compare_records(s, adjudication_id=item_id)
        from ktpel.web.problems import status_for

        return render(request, "central/adjudication_compare.html", {"v": view, "error": exc, "reason": reason},
                      status_code=status_for(exc))
    return redirect(f"/adjudikasi?done={item_id}")


_MEDIA = {"image/png", "image/jpeg", "image/gif", "image/webp"}
DISPLAY_MAX_SIDE = 1600  # a comparison view shows two images side by side


@router.get("/adjudikasi/{item_id}/gambar/{record_id}/{key}", include_in_schema=False,
            dependencies=[Depends(dossier)])
def image(item_id: str, record_id: str, key: str, request: Request) -> Response:
    """A record's face, signature or fingerprint as PNG (fingerprint scanners give TIFF/PGM browsers cannot show).

    Decoded under the one image policy (pixel cap before decoding, decode budget) and served at most
    DISPLAY_MAX_SIDE px on its longer side: an adjudicator's browser never receives a pixel bomb.
    """
    from ktpel.biometrics import imageio
    from ktpel.biometrics.errors import BiometricError

    with request.app.state.db.unit_of_work() as s:
        item = service.get_item(s, adjudication_id=item_id)
        if record_id not in (item.record_id, item.candidate_id):
            raise KtpelError("Gambar bukan bagian dari kasus ini.", "Image is not part of this item.",
                             code="not_found")
        data, ctype = service.image_of(s, record_id=record_id, key=key)
    try:
        header = imageio.probe(data)
        if ctype in _MEDIA and max(header.width, header.height) <= DISPLAY_MAX_SIDE:
            return Response(data, media_type=ctype, headers={"Cache-Control": "private, no-store"})
        png = imageio.display_png(data, max_side=DISPLAY_MAX_SIDE)
    except BiometricError:
        raise KtpelError("Gambar tidak dapat dibaca.", "The stored image cannot be decoded.",
                         code="image_unreadable") from None
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, no-store"})


# -- API -------------------------------------------------------------------------------------------

class DecisionIn(BaseModel):
    decision: str
    reason: str
    version: int


@router.get("/api/v1/adjudications", tags=["adjudication"], dependencies=[Depends(readers)],
            response_model=AdjudicationQueue, response_model_exclude_unset=True)
def api_queue(request: Request, limit: Limit = 100) -> dict:
    """Open adjudication items, most urgent first."""
    with request.app.state.db.unit_of_work() as s:
        items = service.queue(s, limit=min(max(limit, 1), 500))
    return {"items": [{**i.__dict__, "created_at": i.created_at.isoformat()} for i in items]}


@router.get("/api/v1/adjudications/{item_id}", tags=["adjudication"], dependencies=[Depends(dossier)],
            response_model=AdjudicationDossier, response_model_exclude_unset=True)
def api_item(item_id: str, request: Request) -> dict:
    with request.app.state.db.unit_of_work() as s:
        v = service.compare_records(s, adjudication_id=item_id)
        item = v["item"]
        out = {"id": item.id, "status": item.status, "version": item.version, "reason": item.reason,
               "band": item.band, "fused_z": item.fused_z, "first_by": item.first_by, "final_by": item.final_by,
               "final_decision": item.final_decision}
    for side in ("probe", "candidate"):
        rec = dict(v[side])
        rec["captured_at"] = rec["captured_at"].isoformat()
        rec["received_at"] = rec["received_at"].isoformat()
        out[side] = rec
    out["differences"] = [f for f, d in v["diffs"].items() if d]
    out["scores"] = v["per_modality"]
    out["demographic"] = v["demographic"]
    return out


@router.post("/api/v1/adjudications/{item_id}/decision", tags=["adjudication"],
             response_model=AdjudicationDecided, response_model_exclude_unset=True)
def api_decide(item_id: str, body: DecisionIn, request: Request, user: User = Depends(deciders)) -> dict:
    """Decide one item ("same" needs a second adjudicator's "same" to take effect)."""
    with request.app.state.db.unit_of_work() as s:
        item = service.decide(s, settings=request.app.state.settings, adjudication_id=item_id,
                              decision=body.decision, reason=body.reason, adjudicator=user.username,
                              version=body.version, source_ip=_ip(request))
        return {"id": item.id, "status": item.status, "version": item.version}
