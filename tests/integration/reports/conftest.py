"""An office with three weeks of simulated history, and clients signed in as a given role."""

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from ktpel.security.access import Role, User



def client_for(app, role: Role, *, host: str = "127.0.0.1") -> TestClient:
    @app.middleware("http")
    async def signed_in(request, call_next):  # stands in for a signed-in session
        request.state.user = User(id=1, username=role.value, role=role, regency_code="18.01")
        return await call_next(request)

    return TestClient(app, client=(host, 40000))


@pytest.fixture
def now(clock) -> dt.datetime:
    """12:00 WIB today on the test clock, stopped there: history and pages read the same day."""
    return clock.freeze(clock.wib(12))


@pytest.fixture
def history_db(db, regions, names, now):
    from ktpel.demo.office_history import write_history
    from ktpel.seeding.service import seed_district

    seed_district(db, regions=regions, names=names, regency_code="18.01", residents=700, seed=3,
                  today=now.date())
    written = write_history(db, office_code="18.01", now=now, weeks=3)
    assert written > 300
    return db
