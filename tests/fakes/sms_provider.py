"""A local fake SMS / WhatsApp Cloud API provider on loopback that can fail, stall and rate-limit.

Like a careful real provider it honours `Idempotency-Key`: a key it already accepted is answered 200
with the same id and is not delivered again. `delivered` counts deliveries per key, so a test (or the
bench) can check "all delivered once, none twice"; `accepted_posts` counts 2xx answers per key, which
would exceed 1 if our sender re-sent a message it had already been told was delivered.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class FakeProvider:
    def __init__(self, *, failure_rate: float = 0.0, seed: int = 7, stall_s: float = 2.0) -> None:
        self.failure_rate = failure_rate
        self.stall_s = stall_s
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.script: list[str] = []  # forced answers consumed first: "500", "429", "stall", "400", "ok"
        self.retry_after = "1"
        self.delivered: Counter[str] = Counter()
        self.accepted_posts: Counter[str] = Counter()
        self.requests: list[dict] = []
        self.bodies: dict[str, dict] = {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> "FakeProvider":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> "FakeProvider":
        return self.start()

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        self.stop()

    def _decide(self) -> str:
        with self.lock:
            if self.script:
                return self.script.pop(0)
            if self.failure_rate and self.random.random() < self.failure_rate:
                return "500"
            return "ok"

    def _handler(self):  # noqa: ANN202
        provider = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body go out as two writes: without TCP_NODELAY each keep-alive answer waits ~40 ms
            disable_nagle_algorithm = True

            def log_message(self, *args) -> None:  # noqa: ANN002
                pass

            def _reply(self, status: int, body: dict, headers: dict | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                payload = json.loads(self.rfile.read(length) or b"{}")
                key = self.headers.get("Idempotency-Key") or payload.get("id") or ""
                path = urlparse(self.path)
                with provider.lock:
                    provider.requests.append({"path": path.path, "query": parse_qs(path.query), "key": key,
                                              "auth": self.headers.get("Authorization"), "json": payload})
                decision = provider._decide()
                if decision == "stall":
                    time.sleep(provider.stall_s)
                    self._reply(504, {"error": "stalled"})
                    return
                if decision == "500":
                    self._reply(500, {"error": "injected failure"})
                    return
                if decision == "429":
                    self._reply(429, {"error": "slow down"}, {"Retry-After": provider.retry_after})
                    return
                if decision == "400":
                    self._reply(400, {"error": "invalid recipient"})
                    return
                with provider.lock:
                    if provider.delivered[key] == 0:
                        provider.delivered[key] += 1
                        provider.bodies[key] = payload
                    provider.accepted_posts[key] += 1
                if "/messages" in path.path:
                    self._reply(200, {"messaging_product": "whatsapp", "contacts": [{"wa_id": payload.get("to")}],
                                      "messages": [{"id": f"wamid.{key}"}]})
                else:
                    self._reply(200, {"id": f"sms-{key}", "status": "queued"})

        return Handler
