"""The kit's background pusher: tries the home office every minute; offline, it simply tries again."""

from __future__ import annotations

import logging
import threading

from ktpel.config import Settings
from ktpel.store.db import Database

log = logging.getLogger("ktpel.kit")


def start_kit_agent(*, settings: Settings, db: Database, every_s: float = 60.0) -> threading.Event:
    stop = threading.Event()

    def loop() -> None:
        from ktpel.office.kit.service import push_to_home

        while not stop.is_set():
            try:
                result = push_to_home(db, settings=settings)
                if result["sent"]:
                    log.info("kit %s pushed %d packets home", settings.kit_id, result["sent"])
            except Exception as exc:  # noqa: BLE001 - offline all day is the normal case
                log.info("home office not reachable: %s", exc)
            stop.wait(every_s)

    threading.Thread(target=loop, name="ktpel-kit-agent", daemon=True).start()
    return stop
