"""Images reach adjudicators bounded: a packet with a pixel bomb is dead-lettered, a large photo is served
at most DISPLAY_MAX_SIDE px (issue 20, item 2)."""

from __future__ import annotations

import base64
import io

from PIL import Image
from sqlalchemy import select

from ktpel.central.adjudication.views import DISPLAY_MAX_SIDE
from ktpel.security.access import Role
from ktpel.store.schema.central import AdjudicationRow
from ktpel.web.app import create_app
from tests.auth_fixtures import authed_client
from tests.image_bombs import bomb_png
from tests.integration.central.conftest import make_payload


def _png(w: int, h: int) -> bytes:
    out = io.BytesIO()
    Image.new("L", (w, h), 200).save(out, "PNG")
    return out.getvalue()


def test_a_packet_with_a_pixel_bomb_is_dead_lettered(central, people):
    payload = make_payload(people.biometrics(person=1, impression=1), nik="1801051705900001", name="BUDI")
    payload["images"]["signature"] = base64.b64encode(bomb_png(13000, 13000)).decode()
    payload["image_types"]["signature"] = "image/png"
    central.receive(payload)
    [outcome] = central.worker.drain()
    assert outcome.status == "dead" and "image signature refused (image_too_large)" in outcome.error


def test_a_large_stored_image_is_served_downscaled(central, people, settings, db):
    first = make_payload(people.biometrics(person=1, impression=1), nik="1801051705900001", name="BUDI SANTOSO")
    first["images"]["signature"] = base64.b64encode(_png(6000, 2000)).decode()
    first["image_types"]["signature"] = "image/png"
    second = make_payload(people.biometrics(person=1, impression=2), nik="1802051705900003", name="BUDI SANTOSA",
                          office_code="18.02")
    central.receive(first)
    central.receive(second, office_code="18.02")
    assert [o.outcome for o in central.worker.drain()] == ["PRINT_READY", "ADJUDICATION"]
    with db.unit_of_work() as s:
        item_id = s.scalars(select(AdjudicationRow)).one().id
    client = authed_client(create_app(settings=settings, side="central", db=db), db, Role.ADJUDICATOR)
    resp = client.get(f"/adjudikasi/{item_id}/gambar/{first['enrollment_id']}/signature")
    assert resp.status_code == 200 and resp.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(resp.content)) as img:
        assert max(img.size) == DISPLAY_MAX_SIDE
