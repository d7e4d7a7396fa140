"""The period a dashboard shows, whatever was typed into ?dari=…&sampai=…"""

import datetime as dt

from ktpel.office.reports.monthly import resolve_month
from ktpel.reports.period import DEFAULT_DAYS, MAX_DAYS, WIB, local_today, percentile, resolve_period

TODAY = dt.date(2026, 11, 29)


def test_default_period_is_eight_weeks_ending_today():
    p = resolve_period(dari=None, sampai=None, today=TODAY)
    assert p.end == TODAY and len(p.days) == DEFAULT_DAYS and not p.notes


def test_reversed_range_is_swapped_with_a_note():
    p = resolve_period(dari="2026-11-20", sampai="2026-10-01", today=TODAY)
    assert (p.start, p.end) == (dt.date(2026, 10, 1), dt.date(2026, 11, 20))
    assert any("ditukar" in a for a, _ in p.notes)


def test_absurd_dates_are_clamped_not_errors():
    p = resolve_period(dari="1900-01-01", sampai="2999-12-31", today=TODAY)
    assert p.end == TODAY and len(p.days) == MAX_DAYS and len(p.notes) >= 2
    junk = resolve_period(dari="kemarin", sampai="<script>", today=TODAY)
    assert junk.end == TODAY and len(junk.notes) == 2


def test_local_today_is_wib_not_utc():
    # 20:00 UTC on the 28th is already the 29th at the office
    assert local_today(dt.datetime(2026, 11, 28, 20, 0, tzinfo=dt.timezone.utc)) == dt.date(2026, 11, 29)
    assert WIB.utcoffset(None) == dt.timedelta(hours=7)


def test_percentile_nearest_rank():
    assert percentile([], 0.9) is None
    assert percentile([5.0], 0.5) == 5.0
    values = [float(i) for i in range(1, 11)]
    assert percentile(values, 0.5) == 5.0 and percentile(values, 0.9) == 9.0 and percentile(values, 1.0) == 10.0


def test_month_of_monthly_report():
    assert resolve_month("2026-10", today=TODAY) == (dt.date(2026, 10, 1), [])
    month, notes = resolve_month("2027-01", today=TODAY)
    assert month == dt.date(2026, 11, 1) and notes
    month, notes = resolve_month("bulan lalu", today=TODAY)
    assert month == dt.date(2026, 11, 1) and notes
