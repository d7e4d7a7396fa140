"""Banner texts, backoff growth, and central's load shedding."""

from __future__ import annotations

import datetime as dt

from ktpel.config import Settings
from ktpel.office.sync.agent import SyncAgent
from ktpel.central.sync.views import IntakeGate
from ktpel.office.sync.outage import Announcement, OutageState, banner_for

NOW = dt.datetime(2026, 11, 29, 3, 0, tzinfo=dt.timezone.utc)


def test_no_banner_when_reachable_and_nothing_announced():
    assert banner_for(OutageState(True, NOW, 0, NOW, None), now=NOW) is None


def test_outage_banner_says_since_when_queue_and_announced_end():
    ann = Announcement(1, NOW - dt.timedelta(hours=1), NOW + dt.timedelta(hours=2), "Pemeliharaan", "Maintenance")
    b = banner_for(OutageState(False, NOW - dt.timedelta(minutes=30), 12, NOW - dt.timedelta(minutes=31), ann),
                   now=NOW)
    assert b["level"] == "bad"
    assert "sejak 29-11-2026 09:30 WIB" in b["text_id"] and "12 paket" in b["text_id"]
    assert "selesai 29-11-2026 12:00 WIB" in b["text_id"]
    assert "12 packets queued" in b["text_en"]


def test_upcoming_maintenance_is_info_and_active_is_warning():
    later = Announcement(1, NOW + dt.timedelta(hours=1), None, "Nanti", "")
    assert banner_for(OutageState(True, None, 0, None, later), now=NOW)["level"] == "info"
    active = Announcement(1, NOW - dt.timedelta(hours=1), None, "Sekarang", "")
    assert banner_for(OutageState(True, None, 0, None, active), now=NOW)["level"] == "warn"


def test_backoff_grows_exponentially_with_jitter_and_is_capped():
    agent = SyncAgent.__new__(SyncAgent)
    agent.settings = Settings(sync_backoff_base_s=1.0, sync_backoff_max_s=30.0)
    for failures, cap in [(1, 1.0), (2, 2.0), (4, 8.0), (10, 30.0)]:
        waits = [agent._backoff(failures) for _ in range(50)]
        assert all(cap / 2 <= w <= cap for w in waits)
        assert len(set(waits)) > 1  # jitter: offices do not retry in lockstep


def test_gate_sheds_load_with_retry_after():
    gate = IntakeGate(max_inflight=1, rate=0.0)
    assert gate.enter() is None
    assert gate.enter() == (503, 1.0)
    gate.leave()
    assert gate.enter() is None
    rated = IntakeGate(max_inflight=0, rate=2.0)
    assert rated.enter() is None and rated.enter() is None
    status, after = rated.enter()
    assert status == 429 and 0 < after <= 0.5
