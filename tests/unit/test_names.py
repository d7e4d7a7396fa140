"""Names follow Dukcapil's rule (ktpel.domain.names): character set, NFC, trimmed, upper-case (item 10)."""

from __future__ import annotations

import re

import pytest

from ktpel.domain.names import NAME_PATTERN, NameInvalid, normalise_name


@pytest.mark.parametrize("raw, expected", [
    ("  siti   aminah ", "SITI AMINAH"),
    ("Ma'ruf Amin", "MA'RUF AMIN"),
    ("muh. ali", "MUH. ALI"),
    ("budi, s.pd", "BUDI, S.PD"),
    ("nur-aini", "NUR-AINI"),
    ("Jose\u0301 Mu\u0308ller", "JOSÉ MÜLLER"),  # decomposed input is composed (NFC)
    ("SUKARNO", "SUKARNO"),
])
def test_names_are_normalised(raw, expected):
    assert normalise_name(raw) == expected


@pytest.mark.parametrize("raw", [
    "SITI\u202eHANIMA",  # right-to-left override
    "SITI\u200dAMINAH",  # zero-width joiner
    "SITI\u200bAMINAH",  # zero-width space
    "SITI\ufeffAMINAH",  # zero-width no-break space
    "SITI \U0001F600",  # emoji
    "SITI\x07AMINAH", "SITI\x00", "SITI\tAMINAH", "SITI\nAMINAH",  # control characters
    "AGUS 2", "R2D2",  # digits (Permendagri 73/2022 Pasal 5(3))
    "СИТИ",  # another script
    "'SITI", "-BUDI", ".",  # must start with a letter
    "SITI \ud800",  # a lone surrogate
    "", "   ", "A" * 101,
    "SITI@AMINAH", "SITI_AMINAH", "SITI/AMINAH",
])
def test_names_outside_the_rule_are_refused(raw):
    with pytest.raises(NameInvalid):
        normalise_name(raw)


def test_the_api_pattern_agrees_with_the_rule():
    pattern = re.compile(NAME_PATTERN)
    for ok in ("Siti Aminah", "MA'RUF AMIN", "José Müller", " budi, s.pd "):
        assert pattern.fullmatch(ok) and normalise_name(ok)
    for bad in ("SITI\u202eX", "SITI \U0001F600", "AGUS 2", "'SITI", "SITI\u200dA"):
        assert not pattern.fullmatch(bad)
