#!/usr/bin/env python3
"""Rounding error of Winograd F(4x4,3x3) for different interpolation points, in a float32 simulation.

asm/winograd4.ts uses the points (0, 1, -1, 1/2, -2, infinity) because of this comparison. For each point set the
script builds A^T and G (Vandermonde on the points, G's rows divided by prod_{l != j}(a_j - a_l)), solves for B^T so
that A^T[(G g) . (B^T d)] is the 1-D correlation exactly, checks it, and then measures, on 2-D tiles with C input
channels (inputs after ReLU, Kaiming-normal filters, as in a trained CNN), max |Winograd - exact| / max |exact| with
the transforms and the channel sum in float32 and the filter transform in float64 rounded once, like the kernel.

Run: /usr/bin/python3 tools/winograd_points.py   (numpy only; about 20 s)
"""
from fractions import Fraction as Fr
import numpy as np

M, R = 4, 3
N = M + R - 1


def matrices(points):
    pts = [Fr(p) for p in points]
    at = [[p ** i for p in pts] + [Fr(1) if i == M - 1 else Fr(0)] for i in range(M)]
    f = [np.prod([pj - pl for l, pl in enumerate(pts) if l != j]) for j, pj in enumerate(pts)]
    g = [[pj ** k / f[j] for k in range(R)] for j, pj in enumerate(pts)] + [[Fr(0)] * (R - 1) + [Fr(1)]]
    # B^T from sum_j A^T[i][j] G[j][k] B^T[j][p] = [p == i + k] for every output i, tap k, input p
    rows, rhs = [], []
    for i in range(M):
        for k in range(R):
            for p in range(N):
                row = np.zeros(N * N)
                for j in range(N):
                    row[j * N + p] = float(at[i][j] * g[j][k])
                rows.append(row)
                rhs.append(1.0 if p == i + k else 0.0)
    bt = np.linalg.lstsq(np.array(rows), np.array(rhs), rcond=None)[0].reshape(N, N)
    return np.array(at, dtype=np.float64), np.array(g, dtype=np.float64), bt


def exact_1d(at, g, bt):
    rng = np.random.default_rng(1)
    d, w = rng.standard_normal(N), rng.standard_normal(R)
    y = at @ ((g @ w) * (bt @ d))
    want = np.array([sum(d[i + k] * w[k] for k in range(R)) for i in range(M)])
    return np.abs(y - want).max() < 1e-9


def error_2d(at, g, bt, channels, tiles=1000, seed=0):
    rng = np.random.default_rng(seed)
    d = np.maximum(0, rng.standard_normal((channels, tiles, N, N))).astype(np.float32)
    w = (rng.standard_normal((channels, R, R)) * np.sqrt(2 / (channels * 9))).astype(np.float32)
    u = np.einsum('ik,ckl,jl->cij', g, w.astype(np.float64), g).astype(np.float32)
    bt32, at32 = bt.astype(np.float32), at.astype(np.float32)
    v = np.einsum('ik,ctkl,jl->ctij', bt32, d, bt32).astype(np.float32)
    m = np.zeros((tiles, N, N), np.float32)
    for c in range(channels):
        m = (m + u[c] * v[c]).astype(np.float32)
    y = np.einsum('ik,tkl,jl->tij', at32, m, at32).astype(np.float32)
    d64, w64 = d.astype(np.float64), w.astype(np.float64)
    want = np.zeros((tiles, M, M))
    for i in range(M):
        for j in range(M):
            want[:, i, j] = np.einsum('ctkl,ckl->t', d64[:, :, i:i + R, j:j + R], w64)
    return np.abs(y - want).max() / np.abs(want).max()


if __name__ == '__main__':
    sets = [(0, 1, -1, 2, -2), (0, 1, -1, Fr(1, 2), -2), (0, 1, -1, Fr(1, 2), Fr(-1, 2)), (0, 1, -1, Fr(3, 2), Fr(-3, 2)),
            (0, 1, -1, Fr(2, 3), Fr(-2, 3)), (0, -1, 1, Fr(1, 2), -3)]
    print('points (and infinity)         error with 16 / 64 / 256 input channels')
    for pts in sets:
        at, g, bt = matrices(pts)
        assert exact_1d(at, g, bt), pts
        errors = [error_2d(at, g, bt, c, tiles=4000 // max(1, c // 16)) for c in (16, 64, 256)]
        print(f"{', '.join(str(p) for p in pts):28}  " + '  '.join(f'{e:.2e}' for e in errors))
