"""Home office endpoint for mobile kits: `POST /api/v1/kit/packets` (X-Kit-Token), one transaction per packet."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from ktpel.domain.errors import KtpelError
from ktpel.office.kit import service
from ktpel.security.access import public
from ktpel.office.kit.schemas import KitPacketsReceived

router = APIRouter()


@router.post("/api/v1/kit/packets", tags=["kit"], dependencies=[Depends(public)],
             response_model=KitPacketsReceived, response_model_exclude_unset=True)
def receive(request: Request, body: dict) -> dict:
    """`{kit_id, packets: [{packet_id, content}]}` → per packet the home packet id, or the refusal."""
    settings = request.app.state.settings
    service.check_token(settings, request.headers.get("x-kit-token"))
    kit_id = str(body.get("kit_id", ""))[:40] or "kit"
    out = []
    for item in body.get("packets") or []:
        pid = str(item.get("packet_id", ""))
        try:
            with request.app.state.db.unit_of_work() as s:
                home = service.receive_kit_packet(s, settings=settings, kit_id=kit_id, kit_packet_id=pid,
                                                  content=item["content"])
            out.append({"packet_id": pid, "home_packet_id": home})
        except KtpelError as exc:
            out.append({"packet_id": pid, "home_packet_id": None, "error": exc.as_dict()})
        except (KeyError, TypeError, ValueError) as exc:
            out.append({"packet_id": pid, "home_packet_id": None,
                        "error": {"code": "kit_packet_invalid", "message_en": str(exc)[:200]}})
    return {"packets": out}
