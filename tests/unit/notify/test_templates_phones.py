"""Templates, phone numbers, quiet hours and backoff: pure rules, no database."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, strategies as st

from ktpel.config import Settings
from ktpel.office.notify import templates as tpl
from ktpel.office.notify.errors import InvalidPhone, MalformedTemplate, UnknownVariable
from ktpel.office.notify.phones import normalise, takes_sms_guess
from ktpel.office.notify.sender import MAX_BACKOFF_S, backoff
from ktpel.office.notify.service import quiet_until


@pytest.mark.parametrize("raw", ["0812-3456-7890", "+62 812 3456 7890", "62812 34567890", "(0812) 34567890"])
def test_indonesian_mobile_numbers_normalise_to_e164(raw):
    assert normalise(raw) == "+6281234567890"


@pytest.mark.parametrize("raw", ["", "12", "0812", "08123456789012345", "halo", "+62 000 000", "x" * 80])
def test_invalid_numbers_are_refused_with_a_message_in_bahasa(raw):
    with pytest.raises(InvalidPhone) as err:
        normalise(raw)
    assert "tidak valid" in err.value.message_id and err.value.code == "invalid_phone"


def test_landline_is_not_taken_for_sms():
    assert takes_sms_guess(normalise("021 555 0123")) is False
    assert takes_sms_guess(normalise("081234567890")) is True


@given(st.text(max_size=40))
def test_normalise_returns_e164_or_raises_the_typed_error(raw):
    try:
        out = normalise(raw)
    except InvalidPhone:
        return
    assert out.startswith("+") and out[1:].isdigit()


def test_every_built_in_template_uses_known_variables_only():
    for trigger, template in tpl.BUILT_IN.items():
        assert trigger in tpl.TRIGGERS
        tpl.validate(template.body_id)
        tpl.validate(template.body_en)


def test_print_ready_text_says_come_and_bring():
    values = {k: f"<{k}>" for k in tpl.VARIABLES}
    text = tpl.render(tpl.BUILT_IN["print_ready"].body_id, values)
    assert "silakan datang ke <kantor>" in text.lower() and "bawa <bawa>" in text


def test_unknown_variable_is_named_in_the_refusal():
    with pytest.raises(UnknownVariable) as err:
        tpl.validate("Halo {nama}, kode {kode_rahasia} dan {nik}")
    assert err.value.names == ["kode_rahasia", "nik"]
    assert "{kode_rahasia}" in err.value.message_id and "{nama}" in err.value.message_id


@pytest.mark.parametrize("body", ["Halo {nama", "Halo {nama:>10}", "Halo {nama!r}", "{0}", "   "])
def test_malformed_templates_are_refused(body):
    with pytest.raises(MalformedTemplate):
        tpl.validate(body)


def test_doubled_braces_are_literal_text():
    assert tpl.render("{{nama}} = {nama}", {"nama": "ANI"}) == "{nama} = ANI"


def _settings(**kw) -> Settings:
    return Settings(notify_quiet_hours="21:00-07:00", notify_timezone="Asia/Jakarta", **kw)


@pytest.mark.parametrize("wib,quiet", [
    ("20:00", False), ("20:59", False), ("21:00", True), ("23:30", True), ("00:00", True),
    ("06:59", True), ("07:00", False), ("10:30", False)])
def test_quiet_hours_are_21_to_07_wib_at_their_edges(clock, wib, quiet):
    hour, minute = map(int, wib.split(":"))
    now = clock.wib(hour, minute)
    until = quiet_until(now, settings=_settings())
    assert (until is not None) == quiet
    if until is not None:  # the next 07:00 WIB: the same WIB day after midnight, the next one before it
        morning = clock.wib(7) if hour < 7 else clock.wib(7, days=1)
        assert until == morning and now < until <= now + dt.timedelta(hours=10)


def test_midnight_wib_is_17_utc_and_the_wib_day_decides(clock):
    midnight = clock.wib(0, days=1)
    assert (midnight.hour, midnight.minute) == (17, 0)  # 00:00 WIB is 17:00 UTC the day before
    today = clock.today()
    for at in (midnight - dt.timedelta(minutes=1), midnight):  # 23:59 and 00:00 WIB: one night
        assert quiet_until(at, settings=_settings()) == clock.wib(7, days=1)
    clock.freeze(midnight)
    assert clock.today() == today + dt.timedelta(days=1) and midnight.date() == today  # WIB day, not UTC


def test_daytime_quiet_window_and_no_window(clock):
    s = Settings(notify_quiet_hours="12:00-13:00", notify_timezone="Asia/Jakarta")
    assert quiet_until(clock.wib(12, 30), settings=s) == clock.wib(13)
    assert quiet_until(clock.wib(13), settings=s) is None
    assert quiet_until(clock.wib(22), settings=Settings(notify_quiet_hours="")) is None


def test_backoff_doubles_is_capped_and_honours_retry_after():
    d1, d3 = backoff(attempts=1, base_s=30), backoff(attempts=3, base_s=30)
    assert 27 <= d1 <= 33 and 108 <= d3 <= 132
    assert backoff(attempts=30, base_s=30) <= MAX_BACKOFF_S * 1.1
    assert backoff(attempts=1, base_s=30, retry_after=600) == 600


def test_unknown_channel_in_settings_is_a_typed_error():
    from ktpel.office.notify.channels import channel_for
    from ktpel.office.notify.errors import UnknownChannel

    with pytest.raises(UnknownChannel, match="pigeon"):
        channel_for(Settings(notify_channel="pigeon"))


def test_delivery_report_shapes_are_read_and_untracked_statuses_dropped():
    from ktpel.office.notify.delivery import reports_from

    generic = reports_from([{"id": "m1", "status": "DELIVERED"}, {"id": "m2", "status": "queued"}, {"status": "read"}])
    assert [(r.ref, r.status) for r in generic] == [("m1", "DELIVERED")]
    wa = reports_from({"entry": [{"changes": [{"value": {"statuses": [
        {"id": "wamid.1", "biz_opaque_callback_data": "m9", "status": "failed", "errors": [{"title": "blocked"}]},
        {"id": "wamid.2", "status": "sent"}]}}]}]})
    assert [(r.ref, r.status, r.error) for r in wa] == [("m9", "UNDELIVERED", "blocked")]
    assert reports_from("nonsense") == [] and reports_from({"id": "m3", "status": "read"})[0].status == "READ"
