"""The IKD report payload both sides share (`ktpel.packets.ikd`): what the office writes, central reads."""

import pytest

from ktpel.central.ikd.service import read_report
from ktpel.packets.ikd import CURRENT, VERSIONS
from ktpel.sync.envelope import Refused

REPORT = {"activation_id": "IKD0123456789abc", "nik": "1801054507900001", "office_code": "18.01",
          "officer": "op1", "saves_blank": True, "activated_at": "2026-12-01T03:15:00+00:00"}


def test_what_the_office_writes_central_reads_back_field_for_field():
    written = CURRENT(**REPORT).model_dump(mode="json")
    assert (written["format"], written["version"]) == ("ktpel.ikd", 1)
    read = read_report(written)
    assert read == VERSIONS[1].model_validate(written)
    assert read.activated.isoformat() == "2026-12-01T03:15:00+00:00" and read.revoked is None


def test_a_report_queued_before_the_model_reads_as_version_1():
    assert read_report(dict(REPORT)).activation_id == REPORT["activation_id"]  # no format, no version


@pytest.mark.parametrize("change, reason, where", [
    ({"nik": "18010545"}, "invalid_content", "nik"),
    ({"activated_at": "2026-12-01T03:15:00"}, "invalid_content", "activated_at"),  # no time zone
    ({"saves_blank": "kadang"}, "invalid_content", "saves_blank"),
    ({"activation_id": ""}, "invalid_content", "activation_id"),
    ({"version": 9}, "unsupported_version", "9"),
])
def test_a_report_that_does_not_fit_is_refused_naming_the_problem(change, reason, where):
    with pytest.raises(Refused) as exc:
        read_report({**REPORT, **change})
    assert exc.value.reason == reason and where in exc.value.detail
