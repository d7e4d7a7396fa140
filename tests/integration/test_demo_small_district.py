"""`ktpel demo --residents 100` (the smallest size the CLI accepts): the history leaves the later steps adults."""

from rich.console import Console
from sqlalchemy import func, select, update

from ktpel.demo.enrollment import DEMO_RECORDINGS
from ktpel.demo.ikd import SUBJECTS, _prr_resident, adult_born_by, ikd_demo
from ktpel.demo.kit import KIT_RECORDINGS
from ktpel.demo.office_history import write_history
from ktpel.demo.printing import DEMO_CARDS
from ktpel.seeding.service import seed_district
from ktpel.store.schema.core import CardRow, EnrollmentRow, ResidentRow
from ktpel.store.schema.ikd import IkdActivationRow


def _seed(db, regions, names, clock) -> None:
    # as `ktpel demo --residents 100` seeds its district
    seed_district(db, regions=regions, names=names, regency_code="18.01", residents=100, seed=1, today=clock.today())


def test_history_of_the_smallest_demo_leaves_adults_for_the_later_steps(db, settings, regions, names, clock):
    _seed(db, regions, names, clock)
    assert write_history(db, office_code="18.01", now=clock.now()) > 0
    with db.unit_of_work() as s:
        never_recorded = select(ResidentRow.id).where(
            ResidentRow.birth_date <= adult_born_by(clock.today().year),
            ResidentRow.id.not_in(select(EnrollmentRow.resident_id)), ResidentRow.id.not_in(select(CardRow.resident_id)))
        left = set(s.scalars(never_recorded))
        # each of these steps may take adults from the same pool, one after the other
        assert len(left) >= DEMO_RECORDINGS + DEMO_CARDS + len(SUBJECTS) + KIT_RECORDINGS
        niks = [_prr_resident(s, settings=settings, enrollment_id=e, subject=n, shared=settings.resolved_shared_data())
                for e, n in SUBJECTS]
        chosen = set(s.scalars(select(ResidentRow.id).where(ResidentRow.nik.in_(niks))))
    assert len(chosen) == 2 and chosen <= left  # never recorded before: the IKD's PRR is their only recording


def test_ikd_step_without_an_adult_says_so_and_writes_nothing(db, settings, regions, names, clock):
    _seed(db, regions, names, clock)
    with db.unit_of_work() as s:
        s.execute(update(ResidentRow).values(revoked=True))
    console = Console(record=True, width=200)
    assert ikd_demo(settings=settings, office_db=db, console=console) == []
    assert "no adult resident without a card left" in console.export_text()
    with db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(IkdActivationRow)) == 0
        assert s.scalar(select(func.count()).select_from(EnrollmentRow)) == 0
