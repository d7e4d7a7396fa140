"""Channels behind one interface: console/file, SMTP email, a generic HTTP SMS gateway, WhatsApp Cloud API.

Every channel gets the message id and passes it to the provider as an idempotency key (HTTP header
`Idempotency-Key`, SMTP `Message-ID`, WhatsApp `biz_opaque_callback_data`), so a retry after a lost
answer cannot become a second SMS at a provider that honours it.
"""

from __future__ import annotations

import json
import os
import smtplib
import sys
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

import httpx

from ktpel.config import Settings
from ktpel.domain.events import utcnow
from ktpel.office.notify.errors import ChannelError, UnknownChannel


@dataclass(frozen=True)
class Outgoing:
    id: str
    to: str  # E.164
    body: str
    trigger: str
    parameters: list[str] = field(default_factory=list)  # template parameters, in order (WhatsApp)


class Channel(Protocol):
    name: str

    def send(self, message: Outgoing) -> str:
        """Deliver one message; return the provider's id; raise ChannelError on failure."""
        ...

    def close(self) -> None: ...


def mask_phone(number: str) -> str:
    """+6281234567801 → +62812******01: enough to tell messages apart, not to call anyone."""
    digits = number or ""
    keep_head, keep_tail = (6 if digits.startswith("+") else 5), 2
    if len(digits) <= keep_head + keep_tail:
        return "*" * len(digits)
    return digits[:keep_head] + "*" * (len(digits) - keep_head - keep_tail) + digits[-keep_tail:]


class FileChannel:
    """Appends one *masked* JSON line per message to a log file (and prints it when `echo`): the demo
    default. No personal data in log files: the recipient is masked and the body is only counted and
    hashed; the full message stays in the encrypted outbox (/notifikasi)."""

    name = "file"

    def __init__(self, path: Path, *, echo: bool = False) -> None:
        self.path = path
        self.echo = echo
        self._lock = threading.Lock()

    def send(self, message: Outgoing) -> str:
        import hashlib

        to = mask_phone(message.to)
        line = json.dumps({"id": message.id, "at": utcnow().isoformat(), "to": to, "trigger": message.trigger,
                           "chars": len(message.body),
                           "body_sha256": hashlib.sha256(message.body.encode("utf-8")).hexdigest()[:16]},
                          ensure_ascii=False)
        with self._lock:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as fh:
                fh.write(line + "\n")
        if self.echo:
            print(f"[SMS → {to}] {message.trigger} ({len(message.body)} karakter; isi di /notifikasi)",
                  file=sys.stderr)
        return f"file:{message.id}"

    def close(self) -> None:
        pass


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _check(response: httpx.Response) -> dict:
    if response.status_code == 429:
        raise ChannelError("HTTP 429 rate limited", retry_after=_retry_after(response) or 60.0)
    if response.status_code >= 500:
        raise ChannelError(f"HTTP {response.status_code} from provider")
    if response.status_code >= 400:
        # a 4xx other than 429 will not get better by retrying (bad number, bad credentials)
        raise ChannelError(f"HTTP {response.status_code}: {response.text[:200]}", permanent=True)
    try:
        return response.json()
    except ValueError:
        return {}


class HttpSmsChannel:
    """A generic SMS gateway: POST JSON {to, message, id} to a URL template with an auth header."""

    name = "http_sms"

    def __init__(self, *, url_template: str, auth_header: str = "", timeout_s: float = 10.0) -> None:
        self.url_template = url_template
        headers = {}
        if auth_header:
            key, _, value = auth_header.partition(":")
            headers[key.strip()] = value.strip()
        self.client = httpx.Client(timeout=timeout_s, headers=headers)

    def send(self, message: Outgoing) -> str:
        url = self.url_template.format(to=quote(message.to, safe=""))
        try:
            response = self.client.post(url, json={"to": message.to, "message": message.body, "id": message.id},
                                        headers={"Idempotency-Key": message.id})
        except httpx.TimeoutException as exc:
            raise ChannelError(f"timeout: {type(exc).__name__}") from exc
        except httpx.HTTPError as exc:
            raise ChannelError(f"connection: {type(exc).__name__}") from exc
        body = _check(response)
        return str(body.get("id") or body.get("message_id") or message.id)

    def close(self) -> None:
        self.client.close()


class WhatsAppChannel:
    """WhatsApp Cloud API template messages: POST /{phone_number_id}/messages with a bearer token."""

    name = "whatsapp"

    def __init__(self, *, url_template: str, phone_number_id: str, token: str, timeout_s: float = 10.0,
                 language: str = "id") -> None:
        self.url = url_template.format(phone_number_id=phone_number_id)
        self.language = language
        self.client = httpx.Client(timeout=timeout_s, headers={"Authorization": f"Bearer {token}"})

    def payload(self, message: Outgoing) -> dict:
        """The Cloud API JSON of a template message (templates are pre-approved as `ktpel_<trigger>`)."""
        return {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": message.to.lstrip("+"),
            "type": "template",
            "biz_opaque_callback_data": message.id,
            "template": {
                "name": f"ktpel_{message.trigger}",
                "language": {"code": self.language},
                "components": [{"type": "body",
                                "parameters": [{"type": "text", "text": p} for p in message.parameters]}],
            },
        }

    def send(self, message: Outgoing) -> str:
        try:
            response = self.client.post(self.url, json=self.payload(message),
                                        headers={"Idempotency-Key": message.id})
        except httpx.TimeoutException as exc:
            raise ChannelError(f"timeout: {type(exc).__name__}") from exc
        except httpx.HTTPError as exc:
            raise ChannelError(f"connection: {type(exc).__name__}") from exc
        body = _check(response)
        messages = body.get("messages") or [{}]
        return str(messages[0].get("id") or message.id)

    def close(self) -> None:
        self.client.close()


class SmtpChannel:
    """Email through SMTP, addressed to an email-to-SMS gateway (`{phone}` in the address template)."""

    name = "smtp"

    def __init__(self, *, host: str, port: int, sender: str, to_template: str, timeout_s: float = 10.0) -> None:
        self.host, self.port, self.sender, self.to_template, self.timeout_s = host, port, sender, to_template, timeout_s

    def send(self, message: Outgoing) -> str:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = self.to_template.format(phone=message.to.lstrip("+"))
        mail["Subject"] = "KTP-El: pemberitahuan / notification"
        mail["Message-ID"] = f"<{message.id}@ktpel>"
        mail.set_content(message.body)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
                refused = smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            raise ChannelError(f"recipient refused: {exc}", permanent=True) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise ChannelError(f"smtp: {type(exc).__name__}: {exc}") from exc
        if refused:
            raise ChannelError(f"recipient refused: {refused}", permanent=True)
        return mail["Message-ID"]

    def close(self) -> None:
        pass


def channel_for(settings: Settings) -> Channel:
    """The channel this office is configured for (Settings.notify_channel)."""
    kind = settings.notify_channel
    if kind in ("console", "file"):
        return FileChannel(settings.data_dir / "notifications.log", echo=kind == "console")
    if kind == "http_sms":
        return HttpSmsChannel(url_template=settings.notify_http_url, auth_header=settings.notify_http_auth_header,
                              timeout_s=settings.notify_timeout_s)
    if kind == "whatsapp":
        return WhatsAppChannel(url_template=settings.notify_whatsapp_url,
                               phone_number_id=settings.notify_whatsapp_phone_number_id,
                               token=settings.notify_whatsapp_token, timeout_s=settings.notify_timeout_s)
    if kind == "smtp":
        return SmtpChannel(host=settings.notify_smtp_host, port=settings.notify_smtp_port,
                           sender=settings.notify_smtp_from, to_template=settings.notify_smtp_to,
                           timeout_s=settings.notify_timeout_s)
    raise UnknownChannel(kind)
