"""The one image-decoding policy: pixel cap from the header, a decode budget, bounded concurrency."""

from __future__ import annotations

import io
import threading
import time
import tracemalloc

import pytest
from PIL import Image

from ktpel.biometrics import imageio
from ktpel.biometrics.errors import DecoderBusy, ImageTooLarge
from tests.image_bombs import bomb_png


def _png(w: int, h: int, mode: str = "L") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (w, h), 128).save(out, "PNG")
    return out.getvalue()


def test_a_169_megapixel_png_is_refused_from_its_header_without_decoding():
    bomb = bomb_png(13000, 13000)
    assert len(bomb) < 600_000
    tracemalloc.start()
    try:
        with pytest.raises(ImageTooLarge):
            imageio.probe(bomb)
        with pytest.raises(ImageTooLarge):
            imageio.decode_gray(bomb, min_side=10)
        with pytest.raises(ImageTooLarge):
            with imageio.open_bounded(bomb):
                pass
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20, f"{peak / 2**20:.0f} MiB spent on a refused image"


def test_an_image_within_the_cap_decodes_and_reports_its_header():
    header = imageio.probe(_png(640, 480, "RGB"))
    assert (header.format, header.width, header.height, header.mode) == ("png", 640, 480, "RGB")
    assert imageio.decode_bgr(_png(640, 480, "RGB"), min_side=100).shape == (480, 640, 3)


def test_the_budget_bounds_concurrent_decodes_and_their_bytes():
    budget = imageio.DecodeBudget(budget_bytes=100, slots=2)
    active, peak = [0], [0]
    lock = threading.Lock()

    def work() -> None:
        with budget.reserve(10):
            with lock:
                active[0] += 1
                peak[0] = max(peak[0], active[0])
            time.sleep(0.05)
            with lock:
                active[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] == 2 and budget.peak_active == 2

    # bytes: a second reservation that does not fit waits, then fails as busy, and a too-big one fails at once
    with budget.reserve(80):
        with pytest.raises(DecoderBusy):
            with budget.reserve(30, wait_s=0.1):
                pass
    with budget.reserve(30, wait_s=0.1):  # released: fits again
        pass
    with pytest.raises(ImageTooLarge):
        with budget.reserve(101):
            pass


def test_served_images_are_bounded_in_size():
    png = imageio.display_png(_png(4000, 3000), max_side=1600)
    with Image.open(io.BytesIO(png)) as img:
        assert max(img.size) == 1600


def test_the_process_budget_holds_the_largest_allowed_image():
    # the cap and the budget agree: any image under the pixel cap can be decoded alone
    biggest = imageio.ImageHeader("png", 8000, 5000, "RGB")
    assert biggest.pixels <= imageio.MAX_PIXELS
    assert biggest.decoded_bytes <= imageio.BUDGET.budget_bytes
