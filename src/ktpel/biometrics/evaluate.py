"""Verification metrics and the `eval` runs: the same extraction and comparison code as production."""

from __future__ import annotations

import itertools
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from ktpel.biometrics.engine import Engine
from ktpel.biometrics.errors import BiometricError

FINGER_SUFFIXES = {".tif", ".tiff", ".png", ".bmp", ".jpg", ".jpeg"}
FACE_SUFFIXES = FINGER_SUFFIXES | {".pgm", ".ppm"}
_FINGER_NAME = re.compile(r"^(?P<finger>[^_]+)_(?P<impression>[^_]+)$")
Progress = Callable[[str, int], Callable[[], None]]


def error_rates(genuine: np.ndarray, impostor: np.ndarray) -> dict[str, float]:
    """EER, FNMR at FMR 1e-2/1e-3 and TAR at FMR 1e-3; -inf scores are failures (never match)."""
    g = np.sort(np.asarray(genuine, dtype=np.float64))
    i = np.sort(np.asarray(impostor, dtype=np.float64))
    ths = np.unique(np.concatenate([g[np.isfinite(g)], i[np.isfinite(i)], [np.inf]]))
    fnmr = np.searchsorted(g, ths, side="left") / max(len(g), 1)
    fmr = 1.0 - np.searchsorted(i, ths, side="left") / max(len(i), 1)
    k = int(np.argmin(np.abs(fnmr - fmr)))
    eer = float((fnmr[k] + fmr[k]) / 2)

    def fnmr_at(target: float) -> float:
        ok = np.nonzero(fmr <= target)[0]
        return float(fnmr[ok[0]]) if len(ok) else 1.0

    return {"eer": eer, "fnmr_at_fmr_1e-2": fnmr_at(1e-2), "fnmr_at_fmr_1e-3": fnmr_at(1e-3),
            "tar_at_fmr_1e-3": 1.0 - fnmr_at(1e-3)}


@dataclass
class EvalResult:
    """Scores and timings of one evaluation run."""

    images: int
    failures: list[str]
    genuine: np.ndarray
    impostor: np.ndarray
    ms_per_extract: float
    ms_per_compare: float
    cpu_ms_per_extract: float = 0.0
    cpu_ms_per_compare: float = 0.0
    extra: dict = field(default_factory=dict)

    def summary(self) -> dict:
        """Figures with failures to extract counted as non-matches (ISO/IEC 19795), and without them."""
        d = {"images": self.images, "failed_to_extract": len(self.failures),
             "fte": round(len(self.failures) / max(self.images, 1), 6),
             "failed_files": self.failures, "genuine_pairs": int(len(self.genuine)),
             "impostor_pairs": int(len(self.impostor))}
        d.update({k: round(v, 6) for k, v in error_rates(self.genuine, self.impostor).items()})
        g, i = self.genuine[np.isfinite(self.genuine)], self.impostor[np.isfinite(self.impostor)]
        d["tar_at_fmr_1e-3_without_fte"] = round(error_rates(g, i)["tar_at_fmr_1e-3"], 6)
        d["genuine_pairs_without_fte"], d["impostor_pairs_without_fte"] = int(len(g)), int(len(i))
        d.update({"ms_per_extract": round(self.ms_per_extract, 2),
                  "ms_per_compare": round(self.ms_per_compare, 3),
                  "cpu_ms_per_extract": round(self.cpu_ms_per_extract, 2),
                  "cpu_ms_per_compare": round(self.cpu_ms_per_compare, 3)})
        d.update(self.extra)
        return d


def finger_files(directory: Path) -> list[tuple[str, Path]]:
    """(finger label, path) of every `<finger>_<impression>.<ext>` file."""
    out = []
    for p in sorted(directory.iterdir()):
        m = _FINGER_NAME.match(p.stem)
        if p.is_file() and p.suffix.lower() in FINGER_SUFFIXES and m:
            out.append((m.group("finger"), p))
    return out


def face_files(directory: Path) -> list[tuple[str, Path]]:
    """(identity, path) for every image in one sub-folder per identity."""
    return [(d.name, p) for d in sorted(directory.iterdir()) if d.is_dir()
            for p in sorted(d.iterdir()) if p.is_file() and p.suffix.lower() in FACE_SUFFIXES]


def _noop(_label: str, _total: int) -> Callable[[], None]:
    return lambda: None


def _extract_all(paths: list[Path], extract: Callable, progress: Progress) -> tuple[list, list[str], float, float]:
    """Templates (None where extraction failed), failures, wall and CPU seconds per image."""
    templates: list = []
    failures: list[str] = []
    tick = progress("extract", len(paths))
    t0, c0 = time.perf_counter(), time.process_time()
    for path in paths:
        try:
            templates.append(extract(path.read_bytes()))
        except BiometricError as err:
            templates.append(None)
            failures.append(f"{path.parent.name}/{path.name}: {err.code}")
        tick()
    n = max(len(paths), 1)
    return templates, failures, (time.perf_counter() - t0) / n, (time.process_time() - c0) / n


def _run(items: list[tuple[str, Path]], extract: Callable, compare: Callable,
         progress: Progress) -> EvalResult:
    templates, failures, t_extract, c_extract = _extract_all([p for _, p in items], extract, progress)
    pairs = list(itertools.combinations(range(len(items)), 2))
    gen: list[float] = []
    imp: list[float] = []
    tick = progress("compare", len(pairs))
    t_cmp, c_cmp, n_cmp = 0.0, 0.0, 0
    for n, (a, b) in enumerate(pairs):
        ta, tb = templates[a], templates[b]
        if ta is None or tb is None:
            s = float("-inf")
        else:
            t1, c1 = time.perf_counter(), time.process_time()
            s = compare(ta, tb)
            t_cmp += time.perf_counter() - t1
            c_cmp += time.process_time() - c1
            n_cmp += 1
        (gen if items[a][0] == items[b][0] else imp).append(s)
        if n % 100 == 0:
            tick()
    return EvalResult(len(items), failures, np.array(gen), np.array(imp), 1000 * t_extract,
                      1000 * t_cmp / max(n_cmp, 1), 1000 * c_extract, 1000 * c_cmp / max(n_cmp, 1))


def eval_fingerprint(directory: Path, *, engine: Engine, progress: Progress = _noop) -> EvalResult:
    """All same-finger pairs genuine, all different-finger pairs impostor (unordered)."""
    return _run(finger_files(directory), engine.extract_finger, engine.compare_fingers, progress)


def eval_face(directory: Path, *, engine: Engine, progress: Progress = _noop,
              pairs: Path | None = None) -> EvalResult:
    """All-pairs protocol (same identity folder = genuine), or LFW's pairs.txt protocol when `pairs` is given.

    Images that fail to extract fail every pair they are in (FTE counted as non-matches).
    """
    if pairs is not None:
        return eval_face_pairs(directory, parse_pairs(pairs.read_text(encoding="utf-8")), engine=engine,
                               progress=progress)
    return _run(face_files(directory), engine.extract_face, engine.compare_faces, progress)


# -- LFW pairs.txt protocol --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Pair:
    """One protocol pair: (identity, 1-based image number) twice, and whether it is genuine."""

    a: tuple[str, int]
    b: tuple[str, int]
    genuine: bool


def parse_pairs(text: str) -> list[list[Pair]]:
    """LFW pairs.txt: a header `folds per_fold` (or one number: one fold), then per fold `per_fold`
    matched lines `name n1 n2` followed by `per_fold` mismatched lines `name1 n1 name2 n2`."""
    lines = [ln.split() for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise ValueError("empty pairs file")
    head = [int(x) for x in lines[0]]
    folds, per_fold = (head[0], head[1]) if len(head) == 2 else (1, head[0])
    body = lines[1:]
    if len(body) != folds * 2 * per_fold:
        raise ValueError(f"pairs file has {len(body)} pairs, header says {folds} folds x 2 x {per_fold}")
    out: list[list[Pair]] = []
    for f in range(folds):
        chunk = body[f * 2 * per_fold : (f + 1) * 2 * per_fold]
        fold = []
        for k, t in enumerate(chunk):
            genuine = k < per_fold
            if genuine and len(t) == 3:
                fold.append(Pair((t[0], int(t[1])), (t[0], int(t[2])), True))
            elif not genuine and len(t) == 4:
                fold.append(Pair((t[0], int(t[1])), (t[2], int(t[3])), False))
            else:
                kind = "matched (name n1 n2)" if genuine else "mismatched (name1 n1 name2 n2)"
                raise ValueError(f"fold {f + 1}, line {k + 1}: expected a {kind} pair, got {' '.join(t)!r}")
        out.append(fold)
    return out


def pair_image(directory: Path, name: str, number: int) -> Path:
    """`name/name_0001.jpg` (LFW's naming), else the number-th image of the identity folder (1-based)."""
    folder = directory / name
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in FACE_SUFFIXES) \
        if folder.is_dir() else []
    for p in files:
        if p.stem == f"{name}_{number:04d}":
            return p
    if 1 <= number <= len(files):
        return files[number - 1]
    raise FileNotFoundError(f"{name} image {number} not in {folder}")


def best_threshold(scores: np.ndarray, genuine: np.ndarray) -> float:
    """The threshold (score ≥ t means match) with the highest accuracy on these pairs.

    Candidates lie midway between neighbouring scores; among equally good ones the middle one is taken,
    so a small training set does not put the threshold right on its lowest genuine score.
    """
    finite = np.unique(scores[np.isfinite(scores)])
    cands = np.concatenate([[-np.inf], (finite[1:] + finite[:-1]) / 2, [np.inf]]) if len(finite) else np.array([np.inf])
    acc = np.array([np.mean((scores >= t) == genuine) for t in cands])
    best = np.flatnonzero(acc == acc.max())
    return float(cands[best[len(best) // 2]])


def fold_accuracies(scores: list[np.ndarray], genuine: list[np.ndarray]) -> list[float]:
    """Ten-fold protocol: each fold is tested at the threshold that is best on the other folds."""
    out = []
    for k in range(len(scores)):
        rest = [j for j in range(len(scores)) if j != k] or [k]  # one fold: its own threshold (optimistic)
        t = best_threshold(np.concatenate([scores[j] for j in rest]), np.concatenate([genuine[j] for j in rest]))
        out.append(float(np.mean((scores[k] >= t) == genuine[k])))
    return out


def eval_face_pairs(directory: Path, folds: list[list[Pair]], *, engine: Engine,
                    progress: Progress = _noop) -> EvalResult:
    """Scores of the protocol's pairs only; accuracy by folds, TAR at FMR 0.1 % over all folds pooled."""
    keys = sorted({k for fold in folds for p in fold for k in (p.a, p.b)})
    paths = [pair_image(directory, n, i) for n, i in keys]
    templates, failures, t_extract, c_extract = _extract_all(paths, engine.extract_face, progress)
    tmpl = dict(zip(keys, templates))
    scores, labels = [], []
    t_cmp, c_cmp, n_cmp = 0.0, 0.0, 0
    for fold in folds:
        fs = []
        for p in fold:
            ta, tb = tmpl[p.a], tmpl[p.b]
            if ta is None or tb is None:
                fs.append(float("-inf"))
                continue
            t1, c1 = time.perf_counter(), time.process_time()
            fs.append(engine.compare_faces(ta, tb))
            t_cmp += time.perf_counter() - t1
            c_cmp += time.process_time() - c1
            n_cmp += 1
        scores.append(np.array(fs))
        labels.append(np.array([p.genuine for p in fold]))
    acc = fold_accuracies(scores, labels)
    keep = [np.isfinite(s) for s in scores]
    acc_clean = fold_accuracies([s[m] for s, m in zip(scores, keep)], [g[m] for g, m in zip(labels, keep)])
    allg, alls = np.concatenate(labels), np.concatenate(scores)
    extra = {"protocol": "pairs", "folds": len(folds),
             "accuracy_mean": round(float(np.mean(acc)), 6), "accuracy_std": round(float(np.std(acc)), 6),
             "accuracy_mean_without_fte": round(float(np.mean(acc_clean)), 6),
             "fold_accuracies": [round(a, 4) for a in acc]}
    return EvalResult(len(paths), failures, alls[allg], alls[~allg], 1000 * t_extract,
                      1000 * t_cmp / max(n_cmp, 1), 1000 * c_extract, 1000 * c_cmp / max(n_cmp, 1), extra)


def iter_pairs(labels: Iterable[str]) -> Iterable[tuple[int, int, bool]]:
    """Index pairs and whether they are genuine (helper for calibration scripts)."""
    ls = list(labels)
    for a, b in itertools.combinations(range(len(ls)), 2):
        yield a, b, ls[a] == ls[b]
