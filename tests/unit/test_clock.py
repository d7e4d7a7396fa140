"""The one clock: it moves when a test moves it, code reads nothing else, and the suite passes on any day."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ktpel.domain import clock as ktpel_clock
from ktpel.domain.events import utcnow

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src" / "ktpel"

# The tests whose outcome depends on the date or the hour: quiet hours, due times, leases and back-off,
# dashboards' "today", print days and blank reconciliation, outages, sessions, ages from birth dates.
CLOCK_SENSITIVE = [
    "tests/unit",
    "tests/integration/notify",
    "tests/integration/reports",
    "tests/integration/printing",
    "tests/integration/enrollment",
    "tests/integration/sync/test_sync_outage.py",
    "tests/integration/sync/test_sync_central_admin.py",
    "tests/integration/security/test_auth.py",
    "tests/integration/test_seed.py",
]


def test_travel_flows_and_freeze_stops(clock):
    start = clock.travel(dt.datetime(2031, 7, 4, 9, 30, tzinfo=dt.timezone.utc))
    assert dt.timedelta(0) <= utcnow() - start < dt.timedelta(seconds=5)
    clock.freeze(start)
    assert utcnow() == start == ktpel_clock.now()
    clock.advance(dt.timedelta(hours=2))
    assert utcnow() == start + dt.timedelta(hours=2)


def test_today_is_the_wib_day(clock):
    clock.freeze(dt.datetime(2030, 1, 1, 16, 59, tzinfo=dt.timezone.utc))  # 23:59 WIB
    assert clock.today() == dt.date(2030, 1, 1)
    clock.advance(dt.timedelta(minutes=1))  # 17:00 UTC is midnight WIB
    assert clock.today() == dt.date(2030, 1, 2) and utcnow().date() == dt.date(2030, 1, 1)


def test_naive_instants_are_refused(clock):
    with pytest.raises(ValueError):
        clock.freeze(dt.datetime(2030, 1, 1, 12, 0))


def test_a_child_process_follows_the_test_clock(clock):
    clock.freeze(dt.datetime(2029, 3, 1, 3, 0, tzinfo=dt.timezone.utc))
    out = subprocess.run([sys.executable, "-c", "from ktpel.domain import clock; print(clock.now().isoformat())"],
                         capture_output=True, text=True, check=True, env=os.environ.copy()).stdout
    child = dt.datetime.fromisoformat(out.strip())
    assert dt.timedelta(0) <= child - clock.now() < dt.timedelta(seconds=30)


_WALL_CLOCK = re.compile(r"datetime\.now\(|datetime\.utcnow\(|date\.today\(|\btime\.time\(\)")


def test_no_code_reads_the_wall_clock_but_the_clock():
    offenders = []
    for path in SRC.rglob("*.py"):
        if path == SRC / "domain" / "clock.py":
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if _WALL_CLOCK.search(code):
                offenders.append(f"{path.relative_to(REPO)}:{n}: {line.strip()}")
    assert offenders == [], "read the time through ktpel.domain.clock:\n" + "\n".join(offenders)


@pytest.mark.slow
@pytest.mark.parametrize("when", ["+365d", "2028-02-29T10:00+07:00"], ids=["a-year-ahead", "29-february"])
def test_time_sensitive_tests_pass_on_another_day(when):
    """The clock-sensitive tests, run again with the whole suite's clock moved (on SQLite: the clock is the
    same on both backends)."""
    env = {k: v for k, v in os.environ.items() if k != "KTPEL_CLOCK_OFFSET_S"}
    env["KTPEL_TEST_NOW"] = when
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-x", "-m", "not e2e",
                          "-k", "not postgresql and not another_day and not bulk_import", *CLOCK_SENSITIVE,
                          # no dates in the engine's or the dedup model's tests: they cost minutes, prove nothing here
                          "--ignore=tests/unit/biometrics", "--ignore=tests/unit/central/test_dedup.py"],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    tail = "\n".join((run.stdout + run.stderr).splitlines()[-30:])
    assert run.returncode == 0, f"with the clock at {when}:\n{tail}"
    assert re.search(r"\d+ passed", tail), tail
