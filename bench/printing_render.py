"""Cards rendered per second (goal ≥ 50/s): full personalisation layer with photo, signature and a QR of a
real central-signed card token (KTQ1), each card a different token (no QR cache hits). Baseline in the same run: the
same cards without photo and signature, to show what the images cost.

    .venv/bin/python bench/printing_render.py [--cards 200]
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ktpel.config import find_shared_data
from ktpel.office.enrollment.samples import signature_png
from ktpel.office.printing.card import layout, render_pdf, render_png
from ktpel.sync.authorisation import issue, verify

PLACES = {"province": "Lampung", "regency": "Kabupaten Lampung Selatan", "district": "Tanjung Bintang",
          "village": "Kaliasin"}


def cards(n: int) -> list[tuple[dict, str]]:
    key = Ed25519PrivateKey.generate()
    out = []
    for i in range(n):
        card = {"card_id": f"card-bench-{i}", "enrollment_id": f"enr-{i}", "nik": f"18010545079{i:05d}",
                "name": "SITI RAHAYU BINTI AHMAD", "birth_place": "KALIANDA", "birth_date": "1990-07-05",
                "sex": "P", "blood_type": "O", "street": "JL. LINTAS SUMATERA NO. 12", "rt": "003", "rw": "001",
                "village_code": "18.01.05.2001", "religion": "ISLAM", "marital_status": "KAWIN",
                "occupation": "PETANI/PEKEBUN", "citizenship": "WNI", "regency_code": "18.01",
                "issued_at": "2026-11-29"}
        # the card's QR is the compact token inside the signed authorisation, as the print service uses it
        signed = verify(issue(signing_key=key, card=card), public_keys=[key.public_key()])
        out.append((card, signed["qr"]))
    return out


def run(batch: list[tuple[dict, str]], *, photo: bytes | None, signature: bytes | None) -> tuple[float, float]:
    """(cards per wall-clock second, cards per CPU second of this process: the rate on an idle core)."""
    t, c = time.perf_counter(), time.process_time()
    for card, token in batch:
        render_pdf(layout(card=card, places=PLACES, photo=photo, signature=signature, token=token,
                          issued_on=dt.date(2026, 11, 29), specimen=True))
    return len(batch) / (time.perf_counter() - t), len(batch) / (time.process_time() - c)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cards", type=int, default=200)
    args = ap.parse_args()
    shared = find_shared_data()
    photo = (shared / "faces" / "att_orl" / "s1" / "1.pgm").read_bytes() if shared else None
    sig = signature_png(1)
    run(cards(5), photo=photo, signature=sig)  # warm-up: fonts, imports
    baseline = run(cards(args.cards), photo=None, signature=None)
    full = run(cards(args.cards), photo=photo, signature=sig)
    t = time.perf_counter()
    for card, token in cards(20):
        render_png(layout(card=card, places=PLACES, photo=photo, signature=sig, token=token,
                          issued_on=dt.date(2026, 11, 29), specimen=True), dpi=200)
    previews = 20 / (time.perf_counter() - t)
    print(f"cards rendered per second (PDF, photo+signature+QR): {full[0]:.1f}/s wall, {full[1]:.1f}/s per CPU "
          f"second  (goal >= 50/s)")
    print(f"baseline without photo/signature: {baseline[0]:.1f}/s wall, {baseline[1]:.1f}/s CPU  "
          f"ratio full/baseline: {full[1] / baseline[1]:.2f}")
    print(f"PNG previews per second (200 dpi): {previews:.1f}/s")


if __name__ == "__main__":
    main()
