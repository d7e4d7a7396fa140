"""Recording's image work runs in the biometric process pool, and pages answer while it runs."""

from __future__ import annotations

import os
import threading
import time

from ktpel.office.enrollment import extraction
from tests.integration.enrollment.conftest import capture_set


def test_recording_work_runs_in_another_process(office, images):
    nik = office.unrecorded_niks(1)[0]
    resp = office.enroll(nik=nik, images=capture_set(images))
    assert resp.status_code == 201, resp.text
    assert extraction.last_worker_pid not in (None, os.getpid())
    # the pool yields the cores to page requests: its processes run at a lower priority than the server
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    assert os.getpriority(os.PRIO_PROCESS, extraction.last_worker_pid) == min(19, ours + extraction.POOL_NICENESS)
    quality = office.client.post("/api/v1/quality/face", headers=office.headers(),
                                 files={"image": ("f.pgm", images["face"], "image/x-portable-graymap")})
    assert quality.status_code == 200 and quality.json()["ok"]


def test_a_page_answers_while_a_recording_is_processed(office, images):
    first, second, other = office.unrecorded_niks(3)
    assert office.enroll(nik=first, images=capture_set(images)).status_code == 201  # the pool is warm now
    outcome = {}
    recorder = threading.Thread(target=lambda: outcome.setdefault(
        "status", office.enroll(nik=second, images=capture_set(images)).status_code))
    recorder.start()
    deadline = time.monotonic() + 30
    while extraction.in_flight == 0 and recorder.is_alive() and time.monotonic() < deadline:
        time.sleep(0.005)
    assert extraction.in_flight == 1, "the recording never reached the pool"
    started = time.monotonic()
    page = office.client.get(f"/api/v1/residents?q={other}", headers=office.headers("op2"))
    took = time.monotonic() - started
    still_recording = extraction.in_flight == 1
    recorder.join(timeout=120)
    assert page.status_code == 200 and page.json()["items"][0]["nik"] == other
    # the page did not wait for the eleven images: it answered while they were still being extracted
    assert still_recording, f"the page took {took:.2f} s and answered only after the recording"
    assert took < 5.0
    assert outcome["status"] == 201
