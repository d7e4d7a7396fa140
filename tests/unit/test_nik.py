import datetime as dt

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from ktpel.domain.errors import ValidationFailed
from ktpel.domain.nik import Sex, check_matches, format_nik, parse_nik

TODAY = dt.date(2026, 11, 29)


def codes(exc: ValidationFailed) -> set[str]:
    return {e.code for e in exc.errors}


def test_example_nik_is_a_woman_born_1999_in_kalianda(regions):
    nik = parse_nik("1801064508990001", regions=regions, today=TODAY)
    assert nik.sex is Sex.FEMALE
    assert nik.birth_date == dt.date(1999, 8, 5)
    assert nik.district_code == "18.01.06"
    assert regions[nik.district_code].name == "Kalianda"
    assert nik.serial == "0001"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("180106450899000", "nik_length"),
        ("18010645089900011", "nik_length"),
        ("18010645O8990001", "nik_not_digits"),
        ("", "nik_not_digits"),
        ("9999994508990001", "nik_unknown_district"),
        ("1801000508990001", "nik_unknown_district"),  # a regency, not a district
        ("1801063102990001", "nik_invalid_date"),  # 31 February
        ("1801067208990001", "nik_invalid_date"),  # day 72 = woman, day 32
        ("1801060513990001", "nik_invalid_date"),  # month 13
        ("1801064508990000", "nik_serial_zero"),
    ],
)
def test_each_bad_nik_gets_its_own_error(regions, raw, code):
    with pytest.raises(ValidationFailed) as info:
        parse_nik(raw, regions=regions, today=TODAY)
    assert code in codes(info.value)
    for e in info.value.errors:
        assert e.message_id and e.message_en and e.message_id != e.message_en


def test_errors_are_reported_together(regions):
    with pytest.raises(ValidationFailed) as info:
        parse_nik("9999993102990000", regions=regions, today=TODAY)
    assert codes(info.value) == {"nik_unknown_district", "nik_invalid_date", "nik_serial_zero"}


def test_nik_disagreeing_with_the_record_is_named(regions):
    nik = parse_nik("1801064508990001", regions=regions, today=TODAY)
    problems = check_matches(nik, sex=Sex.MALE, birth_date=dt.date(1999, 8, 6))
    assert {p.code for p in problems} == {"nik_sex_mismatch", "nik_birth_date_mismatch"}
    assert check_matches(nik, sex=Sex.FEMALE, birth_date=dt.date(1999, 8, 5)) == []


@hsettings(max_examples=300, deadline=None)
@given(
    birth=st.dates(min_value=dt.date(1927, 1, 1), max_value=TODAY),
    sex=st.sampled_from(list(Sex)),
    serial=st.integers(min_value=1, max_value=9999),
    district=st.sampled_from(["18.01.06", "11.01.01", "31.71.01", "91.03.01"]),
)
def test_format_then_parse_round_trips(regions, birth, sex, serial, district):
    raw = format_nik(district_code=district, birth_date=birth, sex=sex, serial=serial)
    nik = parse_nik(raw, regions=regions, today=TODAY)
    assert (nik.value, nik.district_code, nik.sex, int(nik.serial)) == (raw, district, sex, serial)
    # two-digit years are read as the latest past century; a 100-year-old is not representable
    got, want = nik.birth_date, birth
    assert (got.day, got.month, got.year % 100) == (want.day, want.month, want.year % 100)
    if birth.year >= TODAY.year - 99:
        assert nik.birth_date == birth


@hsettings(max_examples=300, deadline=None)
@given(st.text(max_size=20))
def test_parser_never_crashes_on_arbitrary_text(regions, raw):
    try:
        parse_nik(raw, regions=regions, today=TODAY)
    except ValidationFailed as exc:
        assert exc.errors
