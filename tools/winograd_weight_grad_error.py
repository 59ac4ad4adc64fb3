#!/usr/bin/env python3
"""Rounding error of the Winograd weight gradient: F(3x3,2x2) (what asm/winograd.ts computes) against F(3x3,4x4)
(1.8x fewer multiplies), in a float32 simulation of the kernel's arithmetic.

The weight gradient gw[i,j] = sum over images and positions of gy[y,x] * x[y+i-1, x+j-1] is, per tile of gy, a 3x3
correlation of an input patch with the tile: F(3x3,m x m) by the transposition principle from F(m,3)'s matrices
(A' = G^T, G' = A, B' = B). Transforms and products are float32, each run of K tiles is summed in float32 and the
runs in float64, and the final 3x3 transform is float64, as in the kernel (which sums 16 tiles per vector lane:
the same 16 float32 additions per partial sum as a run of K = 16). Two measures:
- normwise: max |error| / max |gw| on a resnet20-like layer (8 images of 32x32, x after ReLU, gy ~ 1e-3);
- fixture: the PyTorch fixture suite's element-wise bound |error| <= 1e-5 * max(1, |gw|) on the fixture
  winograd_16ch_nobias's geometry (2 images of 7x9, x and gy ~ N(0,1)), as a fraction of the bound (> 1 fails).

Run: /usr/bin/python3 tools/winograd_weight_grad_error.py   (numpy only; about a minute)
Measured 2026-11-26: F(3x3,2x2) normwise 1.4e-7, fixture 0.43 of the bound; F(3x3,4x4) normwise 6.1e-7,
fixture 2.9 of the bound (2.2 with runs of 4 tiles): F(3x3,4x4) would fail the fixtures, so it is not used.
"""
from fractions import Fraction as Fr
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from winograd_points import matrices  # noqa: E402  (asm/winograd4.ts's F(4,3) matrices)


def transforms(method):
    """(m, B^T, G', A'^T) of F(3x3, m x m)."""
    if method == 'F(3x3,2x2)':
        bt = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, -1, 0, 1]], np.float64)
        gp = np.array([[1, 0], [.5, .5], [.5, -.5], [0, 1]], np.float64)
        atp = np.array([[1, 1, 1, 0], [0, 1, -1, 0], [0, 1, 1, 1]], np.float64)
        return 2, bt, gp, atp
    at, g, bt = matrices((0, 1, -1, Fr(1, 2), -2))
    return 4, bt, at.T, g.T


def weight_grad(method, x, gy, run):
    """Winograd weight gradient of one (input, output) channel pair, padding 1, in the kernel's precisions."""
    m, bt, gp, atp = transforms(method)
    a = m + 2
    n, h, w = x.shape
    th, tw = -(-h // m), -(-w // m)
    xp = np.pad(x, ((0, 0), (1, 1 + a + m), (1, 1 + a + m)))
    gyp = np.pad(gy, ((0, 0), (0, m), (0, m)))
    d = np.stack([xp[:, ty * m:ty * m + a, tx * m:tx * m + a] for ty in range(th) for tx in range(tw)], 1).reshape(-1, a, a)
    g = np.stack([gyp[:, ty * m:ty * m + m, tx * m:tx * m + m] for ty in range(th) for tx in range(tw)], 1).reshape(-1, m, m)
    bt32, gp32 = bt.astype(np.float32), gp.astype(np.float32)
    v = np.einsum('ik,tkl,jl->tij', bt32, d, bt32).astype(np.float32)
    u = np.einsum('ik,tkl,jl->tij', gp32, g, gp32).astype(np.float32)
    prod = (u * v).astype(np.float32)
    acc = np.zeros((a, a))
    for k0 in range(0, prod.shape[0], run):
        part = np.zeros((a, a), np.float32)
        for k in range(k0, min(prod.shape[0], k0 + run)):
            part = (part + prod[k]).astype(np.float32)
        acc += part
    return (atp @ acc @ atp.T).astype(np.float32)


def exact(x, gy):
    n, h, w = x.shape
    xp = np.pad(x.astype(np.float64), ((0, 0), (1, 1), (1, 1)))
    return np.array([[np.sum(xp[:, i:i + h, j:j + w] * gy) for j in range(3)] for i in range(3)])


def normwise(method, run, pairs=24):
    rng = np.random.default_rng(0)
    err = scale = 0.0
    for _ in range(pairs):
        x = np.maximum(0, rng.standard_normal((8, 32, 32))).astype(np.float32)
        gy = (1e-3 * rng.standard_normal((8, 32, 32))).astype(np.float32)
        want = exact(x, gy)
        err = max(err, np.abs(weight_grad(method, x, gy, run) - want).max())
        scale = max(scale, np.abs(want).max())
    return err / scale


def fixture(method, run, pairs=256):
    rng = np.random.default_rng(1)
    worst = 0.0
    for _ in range(pairs):
        x = rng.standard_normal((2, 7, 9)).astype(np.float32)
        gy = rng.standard_normal((2, 7, 9)).astype(np.float32)
        want = exact(x, gy)
        worst = max(worst, (np.abs(weight_grad(method, x, gy, run) - want) / np.maximum(1, np.abs(want))).max() / 1e-5)
    return worst


if __name__ == '__main__':
    print('method        tiles per f32 run  normwise error  fixture error / bound')
    for method, run in (('F(3x3,2x2)', 16), ('F(3x3,4x4)', 16), ('F(3x3,4x4)', 4)):
        print(f'{method:12}  {run:17}  {normwise(method, run):14.2e}  {fixture(method, run):21.2f}')
