"""`ktpel office notify` as a cron job runs it: a real process, real exit codes, JSON on stdout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.notify.conftest import add_resident

KTPEL = str(Path(sys.executable).parent / "ktpel")


@pytest.fixture
def backend() -> str:
    """The command's behaviour does not depend on the database; the outbox tests cover both."""
    return "sqlite"


def _run(settings, **env):  # noqa: ANN001, ANN003
    full = {**os.environ, "KTPEL_DATA_DIR": str(settings.data_dir), "KTPEL_DATABASE_URL": settings.database_url,
            "KTPEL_NOTIFY_QUIET_HOURS": "", **env}
    return subprocess.run([KTPEL, "office", "notify", "--once"], capture_output=True, text=True, timeout=120,
                          env=full)


def test_notify_once_sends_the_due_messages_to_the_log(db, settings):
    from ktpel.office.notify.outbox import enqueue

    with db.unit_of_work() as s:
        r, _ = add_resident(s, name="FAJAR")
        enqueue(s, resident_id=r.id, trigger="print_ready", variables={})
    out = _run(settings, KTPEL_NOTIFY_CHANNEL="file")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["sent"] == 1
    logged = (settings.data_dir / "notifications.log").read_text()
    assert "print_ready" in logged and "FAJAR" not in logged  # sent, and logged masked
    again = _run(settings, KTPEL_NOTIFY_CHANNEL="file")
    assert json.loads(again.stdout)["sent"] == 0


def test_unknown_channel_exits_2_with_a_message(settings):
    out = _run(settings, KTPEL_NOTIFY_CHANNEL="pigeon")
    assert out.returncode == 2 and "tidak dikenal" in out.stderr and out.stdout == ""
