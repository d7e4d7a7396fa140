"""Gallery insert/identify/delete/save/load, shard equivalence, fusion bands, ABIS contract."""

from __future__ import annotations

import pytest

from ktpel.biometrics import Band, UnknownReference
from ktpel.biometrics.abis import BuiltinAbis
from ktpel.biometrics.fusion import load_calibration
from ktpel.biometrics.gallery import Gallery, ShardedGallery


@pytest.fixture(scope="module")
def people(engine, finger_templates, face_bytes):
    """Chimeric people: face of sN + finger 10N, first and second captures."""
    faces = {k: engine.extract_face(v) for k, v in face_bytes.items()}
    p = {}
    for n, f in zip((1, 2, 3), (101, 102, 103)):
        p[f"P{n}"] = ([faces[f"s{n}_1"], finger_templates[f"{f}_1"]],
                      [faces[f"s{n}_2"], finger_templates[f"{f}_2"]])
    return p


def _fill(g, people):
    for ref, (enrol, _probe) in people.items():
        g.insert(ref, enrol)


def test_identify_finds_the_enrolled_person_as_hit(engine, people):
    g = Gallery(engine=engine)
    _fill(g, people)
    res = g.identify(people["P2"][1])
    assert res[0].reference_id == "P2" and res[0].band is Band.HIT
    assert set(res[0].raw) == {"face", "finger_0"}
    assert all(c.band is Band.NO_HIT for c in res[1:])


def test_delete_removes_reference(engine, people):
    g = Gallery(engine=engine)
    _fill(g, people)
    g.delete("P2")
    assert all(c.reference_id != "P2" for c in g.identify(people["P2"][1]))
    with pytest.raises(UnknownReference):
        g.delete("P2")


def test_save_load_gives_same_answers(engine, people, tmp_path):
    g = Gallery(engine=engine)
    _fill(g, people)
    g.save(tmp_path / "gal")
    h = Gallery.load(tmp_path / "gal", engine=engine)
    assert len(h) == 3
    a = [(c.reference_id, round(c.fused, 6)) for c in g.identify(people["P1"][1])]
    b = [(c.reference_id, round(c.fused, 6)) for c in h.identify(people["P1"][1])]
    assert a == b


@pytest.mark.parametrize("limit", [1, 50])
def test_sharded_gallery_answers_like_one_gallery(engine, people, finger_templates, limit):
    one, many = Gallery(engine=engine), ShardedGallery(3, engine=engine)
    extra = {f"X{k}": [finger_templates[k]] for k in ("101_3", "102_3", "103_3")}
    for g in (one, many):
        _fill(g, people)
        for ref, t in extra.items():
            g.insert(ref, t)
    for ref in people:
        a = [(c.reference_id, round(c.fused, 6)) for c in one.identify(people[ref][1], limit=limit)]
        b = [(c.reference_id, round(c.fused, 6)) for c in many.identify(people[ref][1], limit=limit)]
        assert a == b


@pytest.mark.parametrize("shards", [1, 3])
def test_an_excluded_reference_is_searched_as_absent_and_frees_its_place(engine, people, finger_templates, shards):
    g = ShardedGallery(shards, engine=engine)
    _fill(g, people)
    g.insert("P2-again", people["P2"][0])  # the same person recorded twice
    g.insert("X", [finger_templates["101_3"]])
    probe = people["P2"][0]
    assert {c.reference_id for c in g.identify(probe)} >= {"P2", "P2-again"}
    # the probe's own record excluded: never scored nor returned, and its mate is still found
    res = g.identify(probe, exclude="P2")
    assert "P2" not in [c.reference_id for c in res] and res[0].reference_id == "P2-again"
    assert res[0].band is Band.HIT
    # with room for one reference a list, the excluded record's place goes to the next best (its mate)
    lists = [shard.candidates(probe, limit=1, exclude="P2") for shard in g.shards]
    assert all("P2" not in [r for _, r in lst] for props in lists for m, lst in props.items()
               if m in ("face", "finger", "finger_triangles"))
    assert any(r == "P2-again" for props in lists for _, r in props.get("finger", []))
    # an unknown id excludes nothing
    assert [c.reference_id for c in g.identify(probe, exclude="nobody")] == [c.reference_id for c in g.identify(probe)]


def test_fusion_bands_follow_thresholds():
    cal = load_calibration()
    assert cal.band(cal.hit_z + 0.1) is Band.HIT
    assert cal.band(cal.review_z + 0.01) is Band.REVIEW
    assert cal.band(cal.review_z - 0.01) is Band.NO_HIT
    assert cal.normalise("finger", 0.0) < 1.0 < cal.normalise("finger", 1.0)
    assert cal.fuse({"face": 5.0}) == pytest.approx(5.0)
    two = cal.fuse({"face": 2.0, "finger_1": 3.0})
    assert 3.0 < two < 5.0  # Fisher: more modalities need more total evidence
    assert cal.fuse({"face": 6.0, "finger_1": 6.0}) > 6.0


def test_abis_contract_round_trip(engine, people):
    abis = BuiltinAbis(Gallery(engine=engine))
    for ref, (enrol, _) in people.items():
        abis.insert(ref, [t.to_bytes() for t in enrol])
    resp = abis.identify(people["P3"][1])
    assert resp.decision is Band.HIT and resp.candidates[0].reference_id == "P3"
    abis.delete("P3")
    resp = abis.identify(people["P3"][1])
    assert resp.decision is Band.NO_HIT
    assert resp.to_dict()["decision"] == "no_hit"


def test_large_gallery_switches_to_ivf_and_still_finds_and_forgets_the_mate(engine, people, monkeypatch):
    import faiss
    import numpy as np

    from ktpel.biometrics import gallery as gallery_mod
    from ktpel.biometrics.templates import FaceTemplate

    monkeypatch.setattr(gallery_mod, "IVF_FROM", 400)
    g = Gallery(engine=engine)
    rng = np.random.default_rng(3)
    model_id = people["P1"][0][0].model_id
    for k in range(420):  # strangers: random unit faces, impostor-level cosines with everyone
        g.insert(f"R{k}", [FaceTemplate(rng.standard_normal(128).astype(np.float32), model_id)])
    _fill(g, people)
    assert isinstance(g._face_index, faiss.IndexIVFScalarQuantizer)  # float16 codes
    res = g.identify(people["P2"][1])
    assert res[0].reference_id == "P2" and res[0].band is Band.HIT
    g.delete("P2")
    assert g._face_index.ntotal == 422
    assert all(c.reference_id != "P2" for c in g.identify(people["P2"][1]))


def _face_at(engine, probe_face, *, z: float):
    """A face whose cosine with the probe sits at the calibrated z (= −log10 FMR)."""
    import numpy as np

    from ktpel.biometrics.templates import FaceTemplate

    lo, hi = -1.0, 1.0
    for _ in range(60):  # z rises with the cosine: bisect
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if engine.calibration.normalise("face", mid) < z else (lo, mid)
    cos = hi
    p = probe_face.embedding.astype(np.float64)
    o = np.random.default_rng(1).standard_normal(p.size)
    o -= (o @ p) * p
    o /= np.linalg.norm(o)
    return FaceTemplate((cos * p + np.sqrt(1 - cos**2) * o).astype(np.float32), probe_face.model_id)


def _positioned(t, position):
    from ktpel.biometrics.templates import FingerTemplate

    return FingerTemplate(t.minutiae, t.width, t.height, t.ppi, position, t.quality, t.orientation,
                          t.orientation_block)


@pytest.mark.parametrize(("face_z", "scored_fingers"), [(2.5, 2), (6.5, 3)])
def test_sequential_scoring_stops_on_noise_fingers_unless_the_fused_score_reaches_review(
        engine, people, finger_templates, face_z, scored_fingers):
    probe_face = people["P1"][1][0]
    probe = [probe_face] + [_positioned(finger_templates[f"{f}_1"], p)
                            for p, f in enumerate((101, 102, 103), start=1)]
    # a stranger: the face at face_z, at each position another finger than the probe's (noise level)
    stranger = [_face_at(engine, probe_face, z=face_z)] + [
        _positioned(finger_templates[f"{f}_2"], p) for p, f in enumerate((102, 103, 101), start=1)]
    g = Gallery(engine=engine)
    g.insert("X", stranger)
    (c,) = g.score(probe, ["X"])
    fingers = [k for k in c.raw if k.startswith("finger_")]
    assert len(fingers) == scored_fingers
    assert max(c.normalised["finger_1"], c.normalised["finger_2"]) < 1.0  # both first fingers: noise
    if scored_fingers == 2:  # a strong face alone would have kept going under the old rule; the band is no_hit
        assert c.normalised["face"] > 1.0 and c.band is Band.NO_HIT


def test_cached_candidate_features_give_the_scores_of_a_fresh_decode_and_stay_bounded(engine, people,
                                                                                         finger_templates):
    cached, fresh = Gallery(engine=engine), Gallery(engine=engine)
    fresh.feature_cache_size = 0
    answers = lambda g, probe: [c.to_dict() for c in g.identify(probe)]  # noqa: E731
    for g in (cached, fresh):
        _fill(g, people)
    for _ref, (_enrol, probe) in people.items():
        for _ in range(2):  # the second search meets every candidate's fingers in the cache
            assert answers(cached, probe) == answers(fresh, probe)
    assert len(cached._featured) == 3 and not fresh._featured
    # a replaced reference is scored on its new fingers, not on the cached old ones
    for g in (cached, fresh):
        g.insert("P1", [people["P1"][0][0], finger_templates["102_3"]])
    first = answers(cached, people["P1"][1])
    assert first == answers(fresh, people["P1"][1])
    assert first[0]["reference_id"] != "P1" or first[0]["band"] != Band.HIT.value
    small, plain = Gallery(engine=engine), Gallery(engine=engine)
    small.feature_cache_size, plain.feature_cache_size = 1, 0
    _fill(small, people)
    _fill(plain, people)
    assert answers(small, people["P2"][1]) == answers(plain, people["P2"][1])
    assert len(small._featured) == 1


def test_top_iids_keeps_exactly_what_merge_top_over_every_score_keeps():
    """The cut before the sort: ties at the limit-th score all survive it, so the id tie-break decides."""
    import numpy as np

    from ktpel.biometrics.gallery import merge_top, top_iids

    rng = np.random.default_rng(7)
    for trial in range(200):
        scores = np.round(rng.random(300) * rng.integers(1, 6), 1) * (rng.random(300) < 0.8)  # zeros and ties
        ids = [f"R{int(x):04d}" for x in rng.permutation(300)]
        limit = int(rng.integers(1, 60))
        everything = merge_top(((ids[i], float(scores[i])) for i in np.nonzero(scores > 0)[0]), limit)
        cut = merge_top(((ids[i], float(scores[i])) for i in top_iids(scores, limit=limit)), limit)
        assert cut == everything, trial
    assert top_iids(np.zeros(5), limit=3).size == 0


def test_a_prepared_probe_computes_each_index_lookup_once_for_every_shard(engine, people, finger_templates,
                                                                           monkeypatch):
    """A coordinator computes the probe's LSH keys and triangles once a decision, not once a shard; a
    packed probe carries them to a remote shard, whose answers stay those of one gallery."""
    import pickle

    from ktpel.biometrics import CorruptTemplate
    from ktpel.biometrics.fingerprint import index, triangles
    from ktpel.biometrics.gallery import pack_probe, prepare_probe, unpack_probe

    calls = {"lsh": 0, "triangles": 0}

    def counted(name, fn):  # noqa: ANN001, ANN202
        def wrapper(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            calls[name] += 1
            return fn(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(index, "probe_keys", counted("lsh", index.probe_keys))
    monkeypatch.setattr(triangles, "probe_triangles", counted("triangles", triangles.probe_triangles))
    # position 1 (a thumb) is in both indexes, 2 in the LSH only, 3 in neither
    record = lambda face, n: [face] + [_positioned(finger_templates[f"{f}_{n}"], p)  # noqa: E731
                                       for p, f in zip((1, 2, 3), (101, 102, 103))]
    one, many = Gallery(engine=engine), ShardedGallery(3, engine=engine)
    for g in (one, many):
        for ref, (enrol, _probe) in people.items():
            g.insert(ref, record(enrol[0], 1))
    probe = [t.to_bytes() for t in record(people["P2"][1][0], 2)]
    answer = [c.to_dict() for c in one.identify(probe)]
    assert answer[0]["reference_id"] == "P2"
    calls.update(lsh=0, triangles=0)
    assert [c.to_dict() for c in many.identify(probe)] == answer
    assert calls == {"lsh": 2, "triangles": 1}  # three shards, one computation each

    calls.update(lsh=0, triangles=0)
    packed = pack_probe(prepare_probe(probe))
    assert calls == {"lsh": 2, "triangles": 1}
    for shard in many.shards:  # each "remote" shard unpacks its own copy and computes nothing again
        shard.candidates(unpack_probe(packed))
    assert calls == {"lsh": 2, "triangles": 1}
    assert [c.to_dict() for c in many.identify(unpack_probe(packed))] == answer
    parsed = prepare_probe(probe)
    parsed[1].features  # noqa: B018 - matcher features (~50 KB a finger) stay home; the lookups travel
    assert set(unpack_probe(pack_probe(parsed))[1].__dict__) >= {"lsh_probe", "triangle_probe"}
    assert "features" not in unpack_probe(pack_probe(parsed))[1].__dict__ and "features" in parsed[1].__dict__
    for junk in (b"not a probe", pickle.dumps([1, 2])):
        with pytest.raises(CorruptTemplate):
            unpack_probe(junk)
