"""`python -m ktpel.office.sender [--central URL]`: the office sync agent alone, as a lean process.

Same loop as inside `ktpel office serve`, without the web app; settings come from KTPEL_* variables.
Used by the crash tests (kill -9 at random points) and handy on a server that runs the UI elsewhere. An entry
point, so it sits beside `office.composition` (whose wiring it hands the agent), not inside `office/sync/`.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from ktpel.config import Settings
from ktpel.office import composition as office_composition
from ktpel.store.db import open_database
from ktpel.office.sync.agent import SyncAgent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--central", default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    settings = Settings()
    db = open_database(settings, name="office", migrate=False)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print("sender ready", flush=True)
    SyncAgent(handlers=office_composition.SYNC, settings=settings, db=db, central_url=args.central).run_forever(stop)


if __name__ == "__main__":
    main()
