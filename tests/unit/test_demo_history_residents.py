"""The demo history leaves adults never recorded for the demo steps after it (`ktpel demo --residents 100`)."""

import datetime as dt

from ktpel.demo.office_history import history_residents

BORN_BY = dt.date(2006, 1, 1)
OLD, YOUNG = dt.date(1980, 5, 1), dt.date(2008, 5, 1)


def test_the_last_adults_born_by_the_day_are_kept_back_in_order():
    residents = [(1, OLD), (2, YOUNG), (3, OLD), (4, OLD), (5, YOUNG), (6, OLD)]
    assert history_residents(residents, keep=2, keep_born_by=BORN_BY) == [1, 2, 3, 5]


def test_a_district_with_fewer_adults_than_kept_back_records_only_the_younger():
    residents = [(1, OLD), (2, YOUNG), (3, OLD)]
    assert history_residents(residents, keep=5, keep_born_by=BORN_BY) == [2]


def test_keeping_none_back_records_everyone():
    residents = [(1, OLD), (2, YOUNG)]
    assert history_residents(residents, keep=0, keep_born_by=BORN_BY) == [1, 2]
