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
        d = {"images": self.images, "failed_to_extract": len(self.failures),
             "failed_files": self.failures, "genuine_pairs": int(len(self.genuine)),
             "impostor_pairs": int(len(self.impostor))}
        d.update({k: round(v, 6) for k, v in error_rates(self.genuine, self.impostor).items()})
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


def _run(items: list[tuple[str, Path]], extract: Callable, compare: Callable,
         progress: Progress) -> EvalResult:
    templates: list = []
    failures: list[str] = []
    tick = progress("extract", len(items))
    t0, c0 = time.perf_counter(), time.process_time()
    for _label, path in items:
        try:
            templates.append(extract(path.read_bytes()))
        except BiometricError as err:
            templates.append(None)
            failures.append(f"{path.name}: {err.code}")
        tick()
    t_extract = (time.perf_counter() - t0) / max(len(items), 1)
    c_extract = (time.process_time() - c0) / max(len(items), 1)
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


def eval_face(directory: Path, *, engine: Engine, progress: Progress = _noop) -> EvalResult:
    """All same-identity pairs genuine, all others impostor; no-face images fail every pair."""
    return _run(face_files(directory), engine.extract_face, engine.compare_faces, progress)


def iter_pairs(labels: Iterable[str]) -> Iterable[tuple[int, int, bool]]:
    """Index pairs and whether they are genuine (helper for calibration scripts)."""
    ls = list(labels)
    for a, b in itertools.combinations(range(len(ls)), 2):
        yield a, b, ls[a] == ls[b]
