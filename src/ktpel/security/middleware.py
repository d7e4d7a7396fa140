"""The security middleware: who is calling (session cookie or bearer token), CSRF, body size, headers.

A pure ASGI middleware (not BaseHTTPMiddleware) so it can bound and replay the request body and rewrite
the response start: 401 on a page becomes a redirect to /masuk, 403 answers are audited, and every answer
gets the security headers.

CSRF is checked on POST/PUT/PATCH/DELETE unless the call is bearer-authenticated, or carries no cookie at
all (a machine client: it holds no ambient credential a forged cross-site request could ride on; such a
caller is anonymous and `requires` refuses it). The sign-in form is always checked (login CSRF).

Test seam: if a middleware outside this one already put a user in `request.state.user` (older tests'
stand-ins), that user is kept and CSRF is not checked. Production code never sets it; new tests sign in
for real with tests/auth_fixtures.py.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import json
import logging
import secrets
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ktpel.security import service
from ktpel.security.audit import record_audit_now
from ktpel.web.inputs import multipart_text_has_nul

log = logging.getLogger("ktpel.security")

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
LOGIN_PATH = "/masuk"
PRE_COOKIE = "ktpel_pre"
# no inline scripts or styles anywhere: every page's CSS and JS is a file (injection cannot style or script)
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
       "form-action 'self'; frame-ancestors 'none'")
# the API docs pages load Swagger/ReDoc from their own script tags; they show no resident data
DOCS_CSP = "frame-ancestors 'none'; object-src 'none'; base-uri 'self'"
DOCS_PATHS = ("/docs", "/redoc", "/openapi.json")


def session_cookie_name(side: str) -> str:
    # office and central can run on one host: cookies ignore ports, so the names must differ
    return f"ktpel_{side}_session"


class BodyTooLarge(Exception):
    pass


def _server_secret(settings) -> bytes:  # noqa: ANN001
    if settings.secret_key:
        return settings.secret_key.encode()
    path = Path(settings.data_dir) / "keys" / "session.key"
    if path.is_file():
        return path.read_bytes()
    from ktpel.files import private_dir

    private_dir(path.parent)
    key = secrets.token_bytes(32)
    # written whole under a private name, then linked into place: the workers of `office serve --workers N`
    # start together, and each must end up with the one key on disk, not its own (their sign-in forms'
    # CSRF tokens would then fail on every other worker)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
        fh.flush()
        os.fsync(fh.fileno())
    try:
        os.link(tmp, path)
    except FileExistsError:  # another worker won: use its key
        key = path.read_bytes()
    finally:
        tmp.unlink()
    return key


def anonymous_csrf(secret: bytes, pre: str) -> str:
    """The sign-in form's CSRF token: bound to the browser's pre-session cookie by HMAC."""
    return hmac.new(secret, b"csrf:" + pre.encode(), hashlib.sha256).hexdigest()


def is_tls(scope) -> bool:  # noqa: ANN001
    return scope.get("scheme") in ("https", "wss")


def cookie_secure(settings, scope) -> bool:  # noqa: ANN001
    return settings.cookie_secure if settings.cookie_secure is not None else is_tls(scope)


def _trusted(address: str, proxies: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
        return any(ip in ipaddress.ip_network(p.strip(), strict=False) for p in proxies.split(",") if p.strip())
    except ValueError:
        return False


def forwarded_client(peer: str | None, forwarded_for: str, *, trusted_proxies: str) -> str | None:
    """The client address: the TCP peer, unless the peer is a configured proxy (KTPEL_TRUSTED_PROXIES);
    then the right-most X-Forwarded-For address that is not itself a trusted proxy. A header from any
    other peer is ignored, so nobody picks their own address for the rate limits and the audit."""
    if not peer or not trusted_proxies or not forwarded_for or not _trusted(peer, trusted_proxies):
        return peer
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer  # a garbled header: trust nothing in it
        if not _trusted(hop, trusted_proxies):
            return hop
    return peer


def client_ip(scope) -> str | None:  # noqa: ANN001
    client = scope.get("client")
    peer = client[0] if client else None
    app = scope.get("app")
    proxies = getattr(getattr(getattr(app, "state", None), "settings", None), "trusted_proxies", "") or ""
    if not proxies:
        return peer
    xff = ", ".join(v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == b"x-forwarded-for")
    return forwarded_client(peer, xff, trusted_proxies=proxies)


def _has_nul(path: str, query: bytes) -> bool:
    return "\x00" in path or b"%00" in query or b"\x00" in query


def _wants_json(path: str, headers: dict) -> bool:
    return path.startswith("/api/") or "application/json" in headers.get("accept", "")


def _cookies(headers: dict) -> SimpleCookie:
    cookies = SimpleCookie()
    try:
        cookies.load(headers.get("cookie", ""))
    except Exception:  # noqa: BLE001 - a malformed cookie header is treated as no cookies
        cookies = SimpleCookie()
    return cookies


def _body_has_nul(headers: dict, body: bytes) -> bool:
    ctype = headers.get("content-type", "").lower()
    return bool(ctype.startswith("application/x-www-form-urlencoded") and (b"%00" in body or b"\x00" in body)
                or "json" in ctype and b"\\u0000" in body
                or ctype.startswith("multipart/form-data") and multipart_text_has_nul(
                    body, content_type=headers.get("content-type", "")))


@dataclass
class _Call:
    """One HTTP request as the middleware sees it: where it goes, who sends it, what it will answer with."""

    scope: dict
    receive: Any
    send: Any
    settings: Any
    db: Any
    path: str
    method: str
    headers: dict
    ip: str | None
    limit: int
    state: dict
    sec_headers: list
    extra_cookies: list = field(default_factory=list)
    user: Any = None
    auth: str | None = None
    csrf_expected: str | None = None

    @classmethod
    def of(cls, scope, receive, send, *, sec_headers: list) -> _Call:  # noqa: ANN001
        settings = scope["app"].state.settings
        return cls(scope=scope, receive=receive, send=send, settings=settings, db=scope["app"].state.db,
                   path=scope.get("path", ""), method=scope["method"],
                   headers={k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])},
                   ip=client_ip(scope), limit=settings.max_body_mb * 1024 * 1024,
                   state=scope.setdefault("state", {}), sec_headers=sec_headers)

    @property
    def actor(self) -> str:
        return self.user.username if self.user else "-"

    async def audit(self, action: str, *, actor: str = "-", subject: str | None = None,
                    after: dict | None = None) -> None:
        kwargs = {"after": after} if after is not None else {}
        await run_in_threadpool(record_audit_now, self.db, actor=actor, action=action,
                                subject=(subject or f"{self.method} {self.path}")[:200], source_ip=self.ip, **kwargs)

    async def reply(self, response: Response) -> None:
        """Answer from the middleware itself, with the security headers."""
        for k, v in self.sec_headers:
            response.headers[k] = v
        await response(self.scope, self.receive, self.send)


class SecurityMiddleware:
    def __init__(self, app, *, side: str) -> None:  # noqa: ANN001
        self.app = app
        self.side = side
        self._secret: bytes | None = None

    def secret(self, settings) -> bytes:  # noqa: ANN001
        if self._secret is None:
            self._secret = _server_secret(settings)
        return self._secret

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        call = _Call.of(scope, receive, send, sec_headers=self._headers(scope.get("path", ""), is_tls(scope)))
        if await self._refuse_unreadable(call):
            return
        if call.path.startswith("/static/") or call.path == "/static":
            await self.app(scope, receive, self._send_with(send, call.sec_headers, []))
            return
        if not await self._identify(call):
            return
        call.state.update(user=call.user, auth=call.auth, csrf_token=call.csrf_expected or "", source_ip=call.ip)
        inner_receive = await self._checked_body(call)
        if inner_receive is None:
            return
        await self._run_app(call, inner_receive)

    # --- the steps of one request, in order ---

    async def _refuse_unreadable(self, call: _Call) -> bool:
        """Answer 413 for a declared body over the limit, 400 for NUL in the URL; True when answered."""
        try:
            declared = int(call.headers.get("content-length", "0") or 0)
        except ValueError:
            declared = 0
        if declared > call.limit:
            await call.audit("request.too_large", after={"bytes": declared})
            await call.reply(self._too_large(call))
            return True
        if _has_nul(call.path, call.scope.get("query_string", b"")):
            # NUL never belongs in a URL, and PostgreSQL refuses it in text: answer 400, not a 500
            await call.audit("request.rejected", subject=f"{call.method} {call.path}".replace("\x00", "\\0"))
            await call.reply(self._bad_characters(call))
            return True
        return False

    async def _identify(self, call: _Call) -> bool:
        """Who is calling: a test's preset user, a bearer token, a session or nobody (with a pre-session
        CSRF token); False when an invalid token was answered with 401."""
        auth_header = call.headers.get("authorization", "")
        preset = call.state.get("user")
        if preset is not None:
            # a test's stand-in middleware (outside this one) already chose the user: keep it, no CSRF
            call.user, call.auth = preset, "preset"
            return True
        if auth_header[:7].lower() == "bearer ":
            return await self._identify_token(call, auth_header[7:].strip())
        cookies = _cookies(call.headers)
        name = session_cookie_name(self.side)
        raw = cookies[name].value if name in cookies else ""
        if raw:
            info = await run_in_threadpool(self._resolve_session, call.db, call.settings, raw)
            if info is not None:
                call.user, call.auth, call.csrf_expected = info.user, "session", info.csrf_token
            else:
                # a stale cookie: drop it so the browser stops sending it
                call.extra_cookies.append(self._cookie(name, "", call.settings, call.scope, max_age=0))
        if call.user is None:
            call.csrf_expected = anonymous_csrf(self.secret(call.settings), self._pre_session(call, cookies))
        return True

    async def _identify_token(self, call: _Call, secret: str) -> bool:
        call.user, why = await run_in_threadpool(self._resolve_token, call.db, call.settings, secret)
        if call.user is None:
            await call.audit("token.rejected", after={"reason": why, "prefix": secret[:12]})
            resp = self._error(call.path, {"accept": "application/json"}, 401, "Token API tidak berlaku.",
                               "The API token is not valid (unknown, expired or revoked).", "token_invalid")
            resp.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
            await call.reply(resp)
            return False
        call.auth = "token"
        return True

    def _pre_session(self, call: _Call, cookies: SimpleCookie) -> str:
        """The anonymous caller's pre-session value (new, and set as a cookie on pages, when absent)."""
        pre = cookies[PRE_COOKIE].value if PRE_COOKIE in cookies else ""
        if not pre or len(pre) > 100:
            pre = secrets.token_urlsafe(24)
            # only pages hand out the pre-session cookie: a plain API client then holds no cookie
            # and stays exempt from CSRF (it has no ambient credential to abuse)
            if not call.path.startswith("/api/"):
                call.extra_cookies.append(self._cookie(PRE_COOKIE, pre, call.settings, call.scope, max_age=None))
        return pre

    async def _checked_body(self, call: _Call):  # noqa: ANN202
        """The receive the app gets: a state-changing request's body is read whole (bounded), refused when
        too large or carrying NUL, and its CSRF token checked; None when the request was answered."""
        inner_receive = self._limited(call.receive, call.limit)
        if call.method not in UNSAFE:
            return inner_receive
        try:
            body = await self._read_all(inner_receive)
        except BodyTooLarge:
            await call.audit("request.too_large", actor=call.actor)
            await call.reply(self._too_large(call))
            return None
        if _body_has_nul(call.headers, body):
            await call.audit("request.rejected", actor=call.actor)
            await call.reply(self._bad_characters(call))
            return None
        if self._needs_csrf(call) and not await self._csrf_ok(call, body):
            return None
        return self._replay(body, call.receive)

    @staticmethod
    def _needs_csrf(call: _Call) -> bool:
        return (call.method in UNSAFE and call.auth not in ("token", "preset")
                and (bool(call.headers.get("cookie")) or call.path == LOGIN_PATH))

    async def _csrf_ok(self, call: _Call, body: bytes) -> bool:
        """True when the header or the form carries the expected CSRF token; otherwise answer 403."""
        given = call.headers.get("x-csrf-token") or await self._form_token(call.scope, body)
        expected = call.csrf_expected
        if given and expected and hmac.compare_digest(given.encode(), expected.encode()):
            return True
        await call.audit("csrf.rejected", actor=call.actor, after={"token_given": bool(given)})
        await call.reply(self._error(call.path, call.headers, 403,
                                     "Formulir kedaluwarsa atau tidak sah (token CSRF). Muat ulang halaman lalu coba lagi.",
                                     "The form expired or is not genuine (CSRF token). Reload the page and try again.",
                                     "csrf_failed"))
        return False

    async def _run_app(self, call: _Call, inner_receive) -> None:  # noqa: ANN001
        """Run the app, watching its answer (see `_watch_answer`); a body found too large midway is a 413."""
        started = {"done": False}
        watched = self._watch_answer(call, started)
        try:
            await self.app(call.scope, inner_receive, self._send_with(watched, call.sec_headers, call.extra_cookies))
        except BodyTooLarge:
            if started["done"]:
                raise
            await call.audit("request.too_large", actor=call.actor)
            await call.reply(self._too_large(call))

    def _watch_answer(self, call: _Call, started: dict):  # noqa: ANN205
        """The send the app gets: a 401 on a page becomes a redirect to sign-in; 403, 404 and 429 are audited."""
        wants_json = _wants_json(call.path, call.headers) or call.auth == "token"

        async def watched(message) -> None:  # noqa: ANN001
            if message["type"] == "http.response.start":
                started["done"] = True
                status = message["status"]
                if status == 401 and not wants_json and call.path != LOGIN_PATH:
                    call.state["_redirected"] = True
                    await call.reply(self._to_sign_in(call))
                    return
                await self._audit_answer(call, status)
            elif call.state.get("_redirected"):
                return
            await call.send(message)
        return watched

    @staticmethod
    def _to_sign_in(call: _Call) -> Response:
        query = call.scope.get("query_string")
        target = call.path + ("?" + call.scope["query_string"].decode("latin-1") if query else "")
        redirect = Response(status_code=303, headers={"location": f"{LOGIN_PATH}?next={quote(target, safe='')}"})
        for c in call.extra_cookies:
            redirect.raw_headers.append((b"set-cookie", c.encode("latin-1")))
        return redirect

    @staticmethod
    async def _audit_answer(call: _Call, status: int) -> None:
        if status in (403, 404) and call.user is not None and call.path != "/favicon.ico":
            await call.audit("access.denied" if status == 403 else "access.not_found", actor=call.user.username)
        elif status == 403:
            await call.audit("access.denied")
        if status == 429 and call.path != LOGIN_PATH:  # sign-in lockouts are audited as login.locked
            await call.audit("rate.limited", actor=call.actor)

    def _too_large(self, call: _Call) -> Response:
        mb = call.settings.max_body_mb
        return self._error(call.path, call.headers, 413, f"Berkas/permintaan terlalu besar (maksimal {mb} MB).",
                           f"Request body too large (at most {mb} MB).", "body_too_large")

    def _bad_characters(self, call: _Call) -> Response:
        return self._error(call.path, call.headers, 400, "Permintaan berisi karakter yang tidak sah.",
                           "The request contains characters that are not allowed.", "bad_characters")

    # --- helpers ---

    def _resolve_token(self, db, settings, secret: str):  # noqa: ANN001, ANN202
        with db.unit_of_work() as s:
            return service.resolve_token(s, secret=secret, settings=settings, side=self.side)

    def _resolve_session(self, db, settings, raw: str):  # noqa: ANN001, ANN202
        with db.unit_of_work() as s:
            return service.resolve_session(s, raw=raw, settings=settings, side=self.side)

    def _headers(self, path: str, tls: bool) -> list[tuple[str, str]]:
        docs = path.startswith(DOCS_PATHS)
        out = [
            ("content-security-policy", DOCS_CSP if docs else CSP),
            ("x-frame-options", "DENY"),
            ("x-content-type-options", "nosniff"),
            ("referrer-policy", "same-origin"),
            ("permissions-policy", "camera=(self), microphone=(), geolocation=()"),
            ("cross-origin-opener-policy", "same-origin"),
        ]
        if not path.startswith("/static/"):
            # pages carry personal data: never keep them in shared browser or proxy caches
            out.append(("cache-control", "no-store"))
        if tls:
            out.append(("strict-transport-security", "max-age=31536000"))
        return out

    def _cookie(self, name: str, value: str, settings, scope, *, max_age: int | None) -> str:  # noqa: ANN001
        parts = [f"{name}={value}", "Path=/", "HttpOnly", "SameSite=Lax"]
        if max_age is not None:
            parts.append(f"Max-Age={max_age}")
        if cookie_secure(settings, scope):
            parts.append("Secure")
        return "; ".join(parts)

    @staticmethod
    def _send_with(send, headers: list[tuple[str, str]], cookies: list[str]):  # noqa: ANN001, ANN205
        async def wrapped(message) -> None:  # noqa: ANN001
            if message["type"] == "http.response.start":
                raw = list(message.get("headers", []))
                present = {k.lower() for k, _ in raw}
                for k, v in headers:
                    if k.encode() not in present:
                        raw.append((k.encode(), v.encode()))
                for c in cookies:
                    raw.append((b"set-cookie", c.encode("latin-1")))
                message = {**message, "headers": raw}
            await send(message)
        return wrapped

    @staticmethod
    def _limited(receive, limit: int):  # noqa: ANN001, ANN205
        seen = {"n": 0}

        async def wrapped():  # noqa: ANN202
            message = await receive()
            if message["type"] == "http.request":
                seen["n"] += len(message.get("body", b""))
                if seen["n"] > limit:
                    raise BodyTooLarge()
            return message
        return wrapped

    @staticmethod
    async def _read_all(receive) -> bytes:  # noqa: ANN001
        chunks = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        return b"".join(chunks)

    @staticmethod
    def _replay(body: bytes, receive):  # noqa: ANN001, ANN205
        sent = {"done": False}

        async def wrapped():  # noqa: ANN202
            if not sent["done"]:
                sent["done"] = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()
        return wrapped

    @staticmethod
    async def _form_token(scope, body: bytes) -> str | None:  # noqa: ANN001
        ctype = ""
        for k, v in scope.get("headers", []):
            if k.lower() == b"content-type":
                ctype = v.decode("latin-1").lower()
        if not (ctype.startswith("application/x-www-form-urlencoded") or ctype.startswith("multipart/form-data")):
            return None
        sent = {"done": False}

        async def once():  # noqa: ANN202
            if not sent["done"]:
                sent["done"] = True
                return {"type": "http.request", "body": body, "more_body": False}
            return {"type": "http.disconnect"}

        try:
            request = Request({**scope, "state": {}}, receive=once)
            form = await request.form()
            token = form.get("csrf_token")
            await form.close()
            return token if isinstance(token, str) else None
        except Exception:  # noqa: BLE001 - an unparseable form carries no valid token
            return None

    @staticmethod
    def _error(path: str, headers: dict, status: int, message_id: str, message_en: str, code: str) -> Response:
        if _wants_json(path, headers):
            body = {"type": f"urn:ktpel:problem:{code}", "title": code, "status": status, "detail": message_en,
                    "code": code, "message_id": message_id}
            return JSONResponse(body, status_code=status, media_type="application/problem+json")
        from html import escape

        html = (f"<!doctype html><html lang=\"id\"><head><meta charset=\"utf-8\"><title>{status}</title>"
                f"<link rel=\"stylesheet\" href=\"/static/style.css\"></head><body><main><section class=\"card error-page\">"
                f"<h1>Terjadi kesalahan ({status})</h1><p class=\"msg-id\">{escape(message_id)}</p>"
                f"<p class=\"msg-en muted\">{escape(message_en)}</p><p><a href=\"/\">Kembali</a></p></section></main></body></html>")
        return Response(html, status_code=status, media_type="text/html; charset=utf-8")
