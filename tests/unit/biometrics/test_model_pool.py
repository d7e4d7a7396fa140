"""Face models are loaded once per concurrent caller, not once per thread, and give the same results."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ktpel.biometrics.engine import Engine
from ktpel.biometrics.face import ModelPool


def test_new_threads_reuse_loaded_models_and_concurrent_ones_get_their_own(bio_data):
    eng = Engine()
    photos = [(bio_data / "faces" / "att_orl" / f"s{p}" / "1.pgm").read_bytes() for p in (3, 8, 15, 27)]
    first = [eng.extract_face(p) for p in photos]
    for p, t in zip(photos, first):  # one new thread after another: nothing is loaded again
        out = []
        worker = threading.Thread(target=lambda: out.append(eng.extract_face(p)))
        worker.start()
        worker.join()
        assert np.array_equal(out[0].embedding, t.embedding) and np.array_equal(out[0].aux, t.aux)
    assert eng.face_model.nets.loaded == 1 and eng.second_face_model.predictors.loaded == 1
    with ThreadPoolExecutor(4) as pool:  # at once: each caller has a net of its own, results unchanged
        again = list(pool.map(eng.extract_face, photos * 3))
    assert all(np.array_equal(a.embedding, t.embedding) for a, t in zip(again, first * 3))
    assert 1 <= eng.face_model.nets.loaded <= 4


def test_a_pool_never_hands_one_item_to_two_callers_at_once():
    pool = ModelPool(object)
    with pool.take() as a, pool.take() as b:
        assert a is not b
    with pool.take() as c:
        assert c in (a, b)
    assert pool.loaded == 2
