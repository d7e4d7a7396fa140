"""Browser tests: a live ktpel server on a free loopback port and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """Serves an ASGI app with uvicorn in a thread until stopped."""

    def __init__(self, app, *, port: int | None = None) -> None:
        import uvicorn

        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> "LiveServer":
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("live server did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("Debian chromium is missing: scripts/test.sh installs it")
        pytest.skip("Debian chromium is not installed (scripts/test.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="id-ID", accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    # every page a test visits must live within the Content-Security-Policy (no inline style or script)
    blocked: list[str] = []
    pg.on("console", lambda m: blocked.append(f"{pg.url}: {m.text}")
          if m.type == "error" and "Content Security Policy" in m.text else None)
    yield pg
    context.close()
    assert not blocked, "CSP violations:\n" + "\n".join(blocked)


@pytest.fixture
def live_server():
    """Call with an app; the server is stopped after the test."""
    servers: list[LiveServer] = []

    def start(app, *, port: int | None = None) -> LiveServer:
        srv = LiveServer(app, port=port).start()
        servers.append(srv)
        return srv

    yield start
    for srv in servers:
        srv.stop()
