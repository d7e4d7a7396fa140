"""dlib's ResNet-29 face descriptor, forward pass in NumPy from dlib's own weight file.

`dlib-bin` is built without BLAS: its descriptor costs ~80 ms CPU per face, more than YuNet and SFace
together. The same network run as im2col + OpenBLAS matrix products (one core) costs a fraction of that
and gives the same descriptor (|Δ| < 1e-4 per component against `compute_face_descriptor`, tested), so
templates keep the model id `dlib-resnet-v1`. dlib itself still aligns the 150 px chip (5-point predictor).

Network (dlib's `examples/dnn_face_recognition_ex.cpp`, `anet_type`): conv 7×7/2 (32) → affine → relu →
max-pool 3×3/2 → residual levels 32×3, 64×(down+3), 128×(down+2), 256×(down+2), 256×down → global
average → fc 128 (no bias). A block is conv 3×3 → affine → relu → conv 3×3 → affine, added to its input
(a down block: first conv stride 2, input average-pooled 2×2/2, the smaller zero-padded) and then relu.
The weight file is dlib's serialisation (`dlib/dnn/*.h`): layers from the input outwards, each a version
string and its fields; tensors are version 2 (shape, then little-endian float32).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ktpel.biometrics.errors import BiometricError

CHIP = 150
MEAN_RGB = np.array([122.782, 117.001, 104.298], dtype=np.float32)  # dlib's input_rgb_image_sized
# residual levels from the input: (filters, down-sampling block first?, plain blocks)
LEVELS = ((32, False, 3), (64, True, 3), (128, True, 2), (256, True, 2), (256, True, 0))
_NAMES = re.compile(rb"(con_4|affine_|fc_2|fc_3)")


@dataclass(frozen=True)
class Conv:
    """A convolution with the following affine (batch-norm) layer folded in: y = W·x + b per position."""

    weights: np.ndarray  # (filters, channels·kh·kw) float32
    bias: np.ndarray  # (filters, 1)
    kernel: int
    stride: int
    padding: int


class _Reader:
    """dlib's serialisation primitives over a byte buffer."""

    def __init__(self, data: bytes, pos: int) -> None:
        self.data, self.pos = data, pos

    def int(self) -> int:
        head = self.data[self.pos]
        size, negative = head & 0x0F, bool(head & 0x80)
        value = int.from_bytes(self.data[self.pos + 1 : self.pos + 1 + size], "little")
        self.pos += 1 + size
        return -value if negative else value

    def string(self) -> str:
        n = self.int()
        s = self.data[self.pos : self.pos + n].decode("ascii")
        self.pos += n
        return s

    def tensor(self) -> np.ndarray:
        if self.int() != 2:
            raise BiometricError("dlib weight file: unexpected tensor version")
        shape = [self.int() for _ in range(4)]
        n = int(np.prod(shape))
        out = np.frombuffer(self.data, dtype="<f4", count=n, offset=self.pos).astype(np.float32)
        self.pos += 4 * n
        return out


def _layers(data: bytes) -> list[tuple[str, dict]]:
    """The parameterised layers (con, affine, fc) in forward order, found by their version strings."""
    out: list[tuple[str, dict]] = []
    pos = 0
    while (m := _NAMES.search(data, pos)) is not None:
        start = m.start() - 2  # the string's length: one size byte, one value byte
        r = _Reader(data, start)
        if start < 0 or r.string() != m.group().decode():
            pos = m.end()  # bytes inside a tensor that happen to spell a name
            continue
        name = m.group().decode()
        if name == "con_4":
            params = r.tensor()
            filters, nr, nc, sy, sx, py, px = (r.int() for _ in range(7))
            if nr != nc or sy != sx or py != px:
                raise BiometricError("dlib weight file: non-square convolution")
            channels = (params.size - filters) // (filters * nr * nc)
            w = params[: filters * channels * nr * nc].reshape(filters, channels * nr * nc)
            out.append(("con", {"w": w, "b": params[w.size :], "k": nr, "s": sy, "p": py}))
        elif name == "affine_":
            params = r.tensor()
            half = params.size // 2
            out.append(("affine", {"gamma": params[:half], "beta": params[half:]}))
        else:
            n_out, n_in = r.int(), r.int()
            out.append(("fc", {"w": r.tensor()[: n_in * n_out].reshape(n_in, n_out)}))
        pos = r.pos
        if name.startswith("fc"):
            break
    return out


def _fold(con: dict, affine: dict) -> Conv:
    g = affine["gamma"]
    return Conv(np.ascontiguousarray(con["w"] * g[:, None]),
                ((con["b"] * g + affine["beta"])[:, None]).astype(np.float32), con["k"], con["s"], con["p"])


class DlibResNet:
    """The descriptor network, loaded once from dlib's `.dat` file."""

    def __init__(self, path: str | Path) -> None:
        try:
            layers = _layers(Path(path).read_bytes())
        except (IndexError, ValueError, UnicodeDecodeError) as exc:  # truncated or not dlib's format
            raise BiometricError(f"dlib weight file unreadable: {exc}") from exc
        kinds = [k for k, _ in layers]
        n_blocks = sum(down + plain for _, down, plain in LEVELS)
        if kinds != ["con", "affine"] * (1 + 2 * n_blocks) + ["fc"]:
            raise BiometricError("dlib weight file: not the ResNet face descriptor layout")
        convs = [_fold(layers[i][1], layers[i + 1][1]) for i in range(0, len(layers) - 1, 2)]
        self.stem, self.blocks = convs[0], [tuple(convs[i : i + 2]) for i in range(1, len(convs), 2)]
        self.fc = np.ascontiguousarray(layers[-1][1]["w"])

    def descriptor(self, chip_rgb: np.ndarray) -> np.ndarray:
        """128-d descriptor (not normalised) of a 150×150 RGB uint8 chip, as dlib computes it."""
        if chip_rgb.shape != (CHIP, CHIP, 3):
            raise BiometricError(f"face chip must be {CHIP}×{CHIP} RGB")
        x = ((chip_rgb.astype(np.float32) - MEAN_RGB) / 256.0).transpose(2, 0, 1)
        x = _max_pool3(np.maximum(_conv(x, self.stem), 0.0))
        for first, second in self.blocks:
            y = _conv(np.maximum(_conv(x, first), 0.0), second)
            if first.stride == 2:
                x = _avg_pool2(x)
            x = _add_padded(x, y)
            np.maximum(x, 0.0, out=x)
        return x.mean(axis=(1, 2)) @ self.fc


def _conv(x: np.ndarray, c: Conv) -> np.ndarray:
    """Cross-correlation of (C, H, W) by im2col and one matrix product."""
    if c.padding:
        x = np.pad(x, ((0, 0), (c.padding, c.padding), (c.padding, c.padding)))
    ch, h, w = x.shape
    ho, wo = (h - c.kernel) // c.stride + 1, (w - c.kernel) // c.stride + 1
    win = np.lib.stride_tricks.sliding_window_view(x, (c.kernel, c.kernel), axis=(1, 2))
    win = win[:, : (ho - 1) * c.stride + 1 : c.stride, : (wo - 1) * c.stride + 1 : c.stride]
    cols = win.transpose(0, 3, 4, 1, 2).reshape(ch * c.kernel * c.kernel, ho * wo)
    return (c.weights @ cols + c.bias).reshape(-1, ho, wo)


def _max_pool3(x: np.ndarray) -> np.ndarray:
    """3×3 max-pool, stride 2, no padding."""
    h, w = (x.shape[1] - 3) // 2 + 1, (x.shape[2] - 3) // 2 + 1
    out = x[:, : 2 * h - 1 : 2, : 2 * w - 1 : 2].copy()
    for dy in range(3):
        for dx in range(3):
            np.maximum(out, x[:, dy : dy + 2 * h - 1 : 2, dx : dx + 2 * w - 1 : 2], out=out)
    return out


def _avg_pool2(x: np.ndarray) -> np.ndarray:
    """2×2 average pool, stride 2, no padding (an odd last row/column is dropped, as in dlib)."""
    h, w = x.shape[1] // 2, x.shape[2] // 2
    x = x[:, : 2 * h, : 2 * w]
    return 0.25 * (x[:, 0::2, 0::2] + x[:, 1::2, 0::2] + x[:, 0::2, 1::2] + x[:, 1::2, 1::2])


def _add_padded(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """dlib's add_prev: the sum over the larger of each dimension, the smaller tensor zero-padded.

    A down block's two branches differ in channels (zero-padded) and, from an even side, in size:
    8 px → conv 3×3/2 gives 3, the 2×2/2 average pool gives 4.
    """
    if a.shape == b.shape:
        return a + b
    out = np.zeros(tuple(max(p, q) for p, q in zip(a.shape, b.shape)), dtype=np.float32)
    out[: a.shape[0], : a.shape[1], : a.shape[2]] += a
    out[: b.shape[0], : b.shape[1], : b.shape[2]] += b
    return out
