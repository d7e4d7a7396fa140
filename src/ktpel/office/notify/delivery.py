"""Delivery reports: what a provider says happened after it accepted a message (webhook).

Two shapes are read: the generic gateway's `{"id": <our message id>, "status": "delivered"}` (or a list of
them), and the WhatsApp Cloud API's `entry[].changes[].value.statuses[]` where our id comes back in
`biz_opaque_callback_data` (else the provider id `wamid…` is matched). The body must carry an HMAC-SHA256
of the raw bytes under Settings.notify_webhook_secret, as `X-Hub-Signature-256: sha256=<hex>` (WhatsApp's
header) or `X-Ktpel-Signature`.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ktpel.domain.errors import KtpelError
from ktpel.domain.events import utcnow
from ktpel.store.schema.notify import NotifyMessageRow

# provider words → ours; a later report never lowers what we know (READ beats DELIVERED beats UNDELIVERED)
_STATUS = {"delivered": "DELIVERED", "read": "READ", "failed": "UNDELIVERED", "undelivered": "UNDELIVERED",
           "rejected": "UNDELIVERED", "expired": "UNDELIVERED"}
_RANK = {None: 0, "UNDELIVERED": 1, "DELIVERED": 2, "READ": 3}


class BadSignature(KtpelError):
    code = "webhook_signature_invalid"
    http_status = 401

    def __init__(self) -> None:
        super().__init__("Tanda tangan laporan pengiriman tidak sah.", "The delivery report's signature is not valid.")


class WebhookOff(KtpelError):
    code = "webhook_disabled"
    http_status = 403

    def __init__(self) -> None:
        super().__init__("Laporan pengiriman tidak diaktifkan di kantor ini.",
                         "Delivery reports are not enabled at this office.")


@dataclass(frozen=True)
class DeliveryReport:
    ref: str  # our message id, or the provider's id
    status: str  # DELIVERED | READ | UNDELIVERED
    error: str = ""


def verify_signature(*, secret: str, body: bytes, header: str | None) -> None:
    """Raise unless `header` is `sha256=<hex HMAC of body>` under `secret`."""
    if not secret:
        raise WebhookOff()
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not header or not hmac.compare_digest(header.strip().lower(), expected):
        raise BadSignature()


def reports_from(payload: object) -> list[DeliveryReport]:
    """The reports in a generic or WhatsApp Cloud API body; statuses we do not track (e.g. `sent`) are dropped."""
    items: list[dict] = []
    if isinstance(payload, list):
        items = [p for p in payload if isinstance(p, dict)]
    elif isinstance(payload, dict) and "entry" in payload:
        for entry in payload.get("entry") or []:
            for change in (entry or {}).get("changes") or []:
                for st in ((change or {}).get("value") or {}).get("statuses") or []:
                    errors = st.get("errors") or [{}]
                    items.append({"id": st.get("biz_opaque_callback_data") or st.get("id"),
                                  "status": st.get("status"), "error": str(errors[0].get("title", ""))})
    elif isinstance(payload, dict):
        items = [payload]
    out = []
    for item in items:
        status = _STATUS.get(str(item.get("status", "")).lower())
        if item.get("id") and status:
            out.append(DeliveryReport(ref=str(item["id"])[:120], status=status, error=str(item.get("error", ""))[:300]))
    return out


def apply_reports(session: Session, *, reports: list[DeliveryReport]) -> int:
    """Record each report on its message; returns how many messages changed."""
    changed = 0
    for report in reports:
        row = session.get(NotifyMessageRow, report.ref) or session.scalar(
            select(NotifyMessageRow).where(NotifyMessageRow.provider_id == report.ref))
        if row is None or _RANK[report.status] <= _RANK.get(row.delivery, 0):
            continue
        row.delivery, row.delivery_at = report.status, utcnow()
        if report.status == "UNDELIVERED" and report.error:
            row.last_error = f"provider: {report.error}"
        changed += 1
    return changed
