"""The session/CSRF server key is one key for every worker process that starts at the same moment."""

from __future__ import annotations

import threading
from types import SimpleNamespace

from ktpel.security.middleware import _server_secret


def test_workers_starting_together_share_one_server_key(tmp_path, monkeypatch):
    import secrets

    settings = SimpleNamespace(secret_key=None, data_dir=tmp_path)
    real = secrets.token_bytes
    together = threading.Barrier(12)
    # every worker has found no key file and made its own key before any of them writes: the worst timing
    monkeypatch.setattr(secrets, "token_bytes", lambda n=None: (together.wait(timeout=30), real(n))[1] if n == 32 else real(n))
    keys = []

    def worker() -> None:
        keys.append(_server_secret(settings))

    threads = [threading.Thread(target=worker) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    on_disk = (tmp_path / "keys" / "session.key").read_bytes()
    assert len(on_disk) == 32 and set(keys) == {on_disk}
    assert [p.name for p in (tmp_path / "keys").iterdir()] == ["session.key"]  # no temporary file left
