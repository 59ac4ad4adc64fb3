// Winograd minimal filtering F(4x4,3x3) for 3x3, stride-1, dilation-1, ungrouped convolutions (the forward pass
// and, with rotated filters and padding 2 - pad, the input gradient), as in winograd.ts but with 4x4 output tiles:
// a tile needs a 6x6 input patch per input channel, and the 36 elementwise products give 16 outputs, so 2.25
// multiplies per output and input channel instead of F(2x2,3x3)'s 4 and the direct convolution's 9.
//
// The price is rounding error. With the usual interpolation points 0, 1, -1, 2, -2 and infinity (Lavin & Gray
// 2016) the error on a 64-channel layer was 6e-6 of the largest output (F(2x2,3x3): 6e-7), enough to fail a PyTorch
// fixture at 1e-5. The points 0, 1, -1, 1/2, -2 and infinity (the kind of choice Barabasz et al. 2020 studied) give
// 2.2e-6 in a float32 simulation of this kernel's arithmetic (tools/winograd_points.py compares point sets):
//
//   B^T = [2 -3 -4  3  2  0]    G = [  1/2    0     0  ]    A^T = [1 1  1  1    1 0]
//         [0 -2  1  5  2  0]        [  1/6   1/6   1/6 ]          [0 1 -1 1/2  -2 0]
//         [0  2 -5  1  2  0]        [ -1/6   1/6  -1/6 ]          [0 1  1 1/4   4 0]
//         [0 -2 -1  2  1  0]        [-16/15 -8/15 -4/15]          [0 1 -1 1/8  -8 1]
//         [0  1 -2 -1  2  0]        [ 1/30 -1/15  2/15 ]
//         [0  2 -3 -4  3  2]        [  0      0    1/2 ]
//
// (rows of B^T scaled to integers, their factors moved into G, which is applied in f64 and rounded once). Position
// p = 6i + j of a tile's transformed arrays is row i, column j.
//
// Determinism: as in winograd.ts, a tile's outputs depend only on its own inputs and U, and lanes are tiles, so the
// split of tiles over threads and chunks never changes any bit.

import { addr, gi, part } from './common';
import { gemmPackedAST, GEMM_SCRATCH, packedAIndex, packedASize } from './gemm';
import { filterTap, padRow } from './winograd';

/** Tiles per GEMM chunk (the GEMMs' column count); a multiple of 16. 64 tiles are 1,024 outputs per channel. */
export const WINOGRAD4_TILES: i32 = 64;
/** Row stride (floats) of the transformed-input and product buffers: 4-tile vector writes may run 3 past a chunk. */
const TILE_STRIDE: i32 = WINOGRAD4_TILES + 4;

// One zero-padded input row: a 4-tile group starting at tile tx reads entries 4tx .. 4tx+19, and groups may start
// at any tile up to tilesW-1.
@inline function paddedRowLength4(outW: i32): i32 {
  return 4 * ((outW + 3) >> 2) + 16;
}

/**
 * Floats between two positions of winograd4Filter's transformed filter bank: one (O x C or C x O) matrix in the GEMM's
 * packed-A layout (strips of 2 rows, the last padded), plus one cache line, as winogradFilterPlane.
 */
export function winograd4FilterPlane(cIn: i32, cOut: i32): i32 {
  return max<i32>(packedASize(cOut, cIn), packedASize(cIn, cOut)) + 16;
}

/** Floats of scratch one thread needs for winograd4Conv with cIn input and cOut output channels and outW columns. */
export function winograd4ScratchFloats(cIn: i32, cOut: i32, outW: i32): i32 {
  return GEMM_SCRATCH + 36 * (cIn + cOut) * TILE_STRIDE + 6 * paddedRowLength4(outW) + 40 * 4;
}

const SIXTH: f64 = 1.0 / 6, FIFTEENTH: f64 = 1.0 / 15, THIRTIETH: f64 = 1.0 / 30;

// G applied to the column (a, b, c) in f64: entry i (only multiplies: a divide per entry made the transform of
// 64x64 filters a visible part of an 8x8 layer).
@inline function gRow(a: f64, b: f64, c: f64, i: i32): f64 {
  if (i == 0) return a * 0.5;
  if (i == 1) return (a + b + c) * SIXTH;
  if (i == 2) return (b - a - c) * SIXTH;
  if (i == 3) return (16 * a + 8 * b + 4 * c) * -FIFTEENTH;
  if (i == 4) return (a - 2 * b + 4 * c) * THIRTIETH;
  return c * 0.5;
}

// G applied to the column (a, b, c), stored as f32 at dst + k*step for k = 0..5.
@inline function storeG(a: f64, b: f64, c: f64, dst: usize, step: usize): void {
  for (let k = 0; k < 6; k++) store<f32>(dst + <usize>k * step, <f32>gRow(a, b, c, k));
}

// w is (O,C,3,3); u is (36, rows, cols) = G g G^T per (row, col), with (rows, cols) = (o, c) and g = w[o,c] for the
// forward convolution, (c, o) and w[o,c] rotated 180 degrees for the input gradient. f64, rounded once. Each
// position's (rows, cols) matrix is stored in the GEMM's packed-A layout (packedAIndex; positions
// winograd4FilterPlane apart), so winograd4Conv's 36 GEMMs per chunk of tiles read it without packing it again
// (they packed it per chunk before: 36 x O x C scalar copies per 64 tiles). Threads split the rows.
export function winograd4Filter(w: usize, u: usize, cOut: i32, cIn: i32, backward: i32, tid: i32, nt: i32): void {
  const rows = backward != 0 ? cIn : cOut, cols = backward != 0 ? cOut : cIn;
  const step = <usize>winograd4FilterPlane(cIn, cOut) << 2;
  for (let r = part(rows, tid, nt); r < part(rows, tid + 1, nt); r++) {
    for (let s = 0; s < cols; s++) {
      const o = backward != 0 ? s : r, c = backward != 0 ? r : s;
      const src = addr(w, (o * cIn + c) * 9);
      const g0 = filterTap(src, 0, backward), g1 = filterTap(src, 1, backward), g2 = filterTap(src, 2, backward);
      const g3 = filterTap(src, 3, backward), g4 = filterTap(src, 4, backward), g5 = filterTap(src, 5, backward);
      const g6 = filterTap(src, 6, backward), g7 = filterTap(src, 7, backward), g8 = filterTap(src, 8, backward);
      const dst = addr(u, packedAIndex(r, s, cols));
      for (let i = 0; i < 6; i++) {
        // row i of t = G g (one value per filter column), then row i of t G^T at positions 6i .. 6i+5
        storeG(gRow(g0, g3, g6, i), gRow(g1, g4, g7, i), gRow(g2, g5, g8, i), dst + <usize>(6 * i) * step, step);
      }
      // an odd row count pads the last strip with a row of zeros
      if ((rows & 1) != 0 && r == rows - 1) {
        const pad = addr(u, packedAIndex(rows, s, cols));
        for (let q = 0; q < 36; q++) store<f32>(pad + <usize>q * step, 0);
      }
    }
  }
}

// B^T applied to (d0..d5), 4 tiles per vector; results stored at out + k*step for k = 0..5.
@inline function inputRows(d0: v128, d1: v128, d2: v128, d3: v128, d4: v128, d5: v128, out: usize, step: usize): void {
  const two = f32x4.splat(2), three = f32x4.splat(3), five = f32x4.splat(5);
  const d42 = f32x4.sub(d4, d2), d31 = f32x4.sub(d3, d1);
  // 2(d0 - 2d2 + d4) + 3(d3 - d1)
  v128.store(out, f32x4.add(f32x4.mul(f32x4.add(f32x4.sub(d0, f32x4.mul(d2, two)), d4), two), f32x4.mul(d31, three)));
  // 2(d4 - d1) + d2 + 5d3
  v128.store(out + step, f32x4.add(f32x4.add(f32x4.mul(f32x4.sub(d4, d1), two), d2), f32x4.mul(d3, five)));
  // 2(d1 + d4) + d3 - 5d2
  v128.store(out + 2 * step, f32x4.sub(f32x4.add(f32x4.mul(f32x4.add(d1, d4), two), d3), f32x4.mul(d2, five)));
  // 2(d3 - d1) + (d4 - d2)
  v128.store(out + 3 * step, f32x4.add(f32x4.mul(d31, two), d42));
  // 2(d4 - d2) - (d3 - d1)
  v128.store(out + 4 * step, f32x4.sub(f32x4.mul(d42, two), d31));
  // 2(d1 - 2d3 + d5) + 3(d4 - d2)
  v128.store(out + 5 * step, f32x4.add(f32x4.mul(f32x4.add(f32x4.sub(d1, f32x4.mul(d3, two)), d5), two), f32x4.mul(d42, three)));
}

// V[c, p, k] for the tiles c0..c1 (k = t - c0): the 36 positions of a channel are neighbours (36 rows of TILE_STRIDE
// floats), so the transforms touch one block per channel (or output channel) instead of 36 streams far apart; one tile-row segment (image b, row ty, tiles tx0..) at a time, 4
// tiles per vector. A group that runs past its segment writes garbage into the next k slots, which the next segment
// overwrites, or into the 4 spare columns after the chunk. tmp holds 36 vectors (d B of one group).
function inputTransform4(x: usize, cIn: i32, h: i32, w: i32, padH: i32, padW: i32, tilesH: i32, tilesW: i32,
  c0: i32, c1: i32, v: usize, rows: usize, rowLen: i32, tmp: usize): void {
  const tilesPerImage = tilesH * tilesW, step = <usize>TILE_STRIDE << 2;
  let t = c0;
  while (t < c1) {
    const b = t / tilesPerImage, rem = t % tilesPerImage, ty = rem / tilesW, tx0 = rem % tilesW;
    const segEnd = min<i32>(c1, t + tilesW - tx0), k0 = t - c0, len = segEnd - t;
    const iy = 4 * ty - padH;
    for (let c = 0; c < cIn; c++) {
      const xc = addr(x, (b * cIn + c) * h * w);
      for (let r = 0; r < 6; r++) padRow(xc, h, w, iy + r, padW, addr(rows, r * rowLen), rowLen);
      const vc = addr(v, c * 36 * TILE_STRIDE + k0);
      for (let g = 0; g < len; g += 4) {
        const e = 4 * (tx0 + g);
        // d B of each of the 6 patch rows: columns j of the 4 tiles are entries e + 4l + j (a 4x4 transpose)
        for (let r = 0; r < 6; r++) {
          const row = addr(rows, r * rowLen + e);
          const l0 = v128.load(row), l1 = v128.load(row, 16), l2 = v128.load(row, 32), l3 = v128.load(row, 48);
          const l4 = v128.load(row, 64);
          const s0 = v128.shuffle<f32>(l0, l1, 0, 4, 1, 5), s1 = v128.shuffle<f32>(l2, l3, 0, 4, 1, 5);
          const s2 = v128.shuffle<f32>(l0, l1, 2, 6, 3, 7), s3 = v128.shuffle<f32>(l2, l3, 2, 6, 3, 7);
          const d0 = v128.shuffle<f32>(s0, s1, 0, 1, 4, 5), d1 = v128.shuffle<f32>(s0, s1, 2, 3, 6, 7);
          const d2 = v128.shuffle<f32>(s2, s3, 0, 1, 4, 5), d3 = v128.shuffle<f32>(s2, s3, 2, 3, 6, 7);
          const d4 = v128.shuffle<f32>(d0, l4, 1, 2, 3, 4), d5 = v128.shuffle<f32>(d1, l4, 1, 2, 3, 5);
          // tmp[r][j] at tmp + (6r + j) * 16
          inputRows(d0, d1, d2, d3, d4, d5, tmp + <usize>(96 * r), 16);
        }
        // B^T (d B): column j of tmp -> positions 6k + j
        const at = addr(vc, g);
        for (let j = 0; j < 6; j++) {
          const col = tmp + <usize>(16 * j);
          inputRows(v128.load(col), v128.load(col, 96), v128.load(col, 192), v128.load(col, 288), v128.load(col, 384),
            v128.load(col, 480), at + <usize>j * step, 6 * step);
        }
      }
    }
    t = segEnd;
  }
}

// A^T applied to (m0..m5): the 4 sums of a column (or row) of M.
@inline function outputRow(m0: v128, m1: v128, m2: v128, m3: v128, m4: v128, m5: v128, out: usize): void {
  const s = f32x4.add(m1, m2), d = f32x4.sub(m1, m2);
  v128.store(out, f32x4.add(f32x4.add(f32x4.add(m0, s), m3), m4));
  v128.store(out, f32x4.sub(f32x4.add(d, f32x4.mul(m3, f32x4.splat(0.5))), f32x4.mul(m4, f32x4.splat(2))), 16);
  v128.store(out, f32x4.add(f32x4.add(s, f32x4.mul(m3, f32x4.splat(0.25))), f32x4.mul(m4, f32x4.splat(4))), 32);
  v128.store(out, f32x4.add(f32x4.sub(f32x4.add(d, f32x4.mul(m3, f32x4.splat(0.125))), f32x4.mul(m4, f32x4.splat(8))), m5), 48);
}

// Y = A^T M A (+ bias) for the tiles c0..c1, 4 tiles per vector. Lanes past the segment are garbage and never
// stored; tiles at a ragged right or bottom edge store only their valid outputs. tmp holds 40 vectors.
function outputTransform4(m: usize, bias: usize, cOut: i32, outH: i32, outW: i32, tilesH: i32, tilesW: i32,
  c0: i32, c1: i32, out: usize, tmp: usize): void {
  const tilesPerImage = tilesH * tilesW, outPlane = outH * outW;
  const step = <usize>TILE_STRIDE << 2;
  let t = c0;
  while (t < c1) {
    const b = t / tilesPerImage, rem = t % tilesPerImage, ty = rem / tilesW, tx0 = rem % tilesW;
    const segEnd = min<i32>(c1, t + tilesW - tx0), k0 = t - c0, len = segEnd - t;
    const oy = 4 * ty, rowsValid = min<i32>(4, outH - oy);
    for (let o = 0; o < cOut; o++) {
      const bv = bias != 0 ? f32x4.splat(load<f32>(addr(bias, o))) : f32x4.splat(0);
      const mo = addr(m, o * 36 * TILE_STRIDE + k0);
      const row0 = addr(out, (b * cOut + o) * outPlane + oy * outW);
      for (let g = 0; g < len; g += 4) {
        const at = addr(mo, g);
        // M A: row i of M -> tmp[i][0..3] at tmp + (4i + q) * 16
        for (let i = 0; i < 6; i++) {
          const mi = at + <usize>(6 * i) * step;
          outputRow(v128.load(mi), v128.load(mi + step), v128.load(mi + 2 * step), v128.load(mi + 3 * step),
            v128.load(mi + 4 * step), v128.load(mi + 5 * step), tmp + <usize>(64 * i));
        }
        // A^T (M A): column q of tmp -> y[k][q] at tmp + 384 + (4q + k) * 16
        for (let q = 0; q < 4; q++) {
          const col = tmp + <usize>(16 * q);
          outputRow(v128.load(col), v128.load(col, 64), v128.load(col, 128), v128.load(col, 192), v128.load(col, 256),
            v128.load(col, 320), tmp + 384 + <usize>(64 * q));
        }
        const ox = 4 * (tx0 + g);
        const tilesHere = min<i32>(4, len - g);
        const full = tilesHere == 4 && ox + 16 <= outW;
        for (let k = 0; k < rowsValid; k++) {
          // y[k][q] for q = 0..3 (lanes = tiles) -> per tile its 4 outputs of row k (a 4x4 transpose)
          const y0 = f32x4.add(v128.load(tmp + 384 + <usize>(16 * k)), bv);
          const y1 = f32x4.add(v128.load(tmp + 448 + <usize>(16 * k)), bv);
          const y2 = f32x4.add(v128.load(tmp + 512 + <usize>(16 * k)), bv);
          const y3 = f32x4.add(v128.load(tmp + 576 + <usize>(16 * k)), bv);
          const s0 = v128.shuffle<f32>(y0, y1, 0, 4, 1, 5), s1 = v128.shuffle<f32>(y2, y3, 0, 4, 1, 5);
          const s2 = v128.shuffle<f32>(y0, y1, 2, 6, 3, 7), s3 = v128.shuffle<f32>(y2, y3, 2, 6, 3, 7);
          const tile0 = v128.shuffle<f32>(s0, s1, 0, 1, 4, 5), tile1 = v128.shuffle<f32>(s0, s1, 2, 3, 6, 7);
          const tile2 = v128.shuffle<f32>(s2, s3, 0, 1, 4, 5), tile3 = v128.shuffle<f32>(s2, s3, 2, 3, 6, 7);
          const dst = addr(row0, k * outW + ox);
          if (full) {
            v128.store(dst, tile0); v128.store(dst, tile1, 16); v128.store(dst, tile2, 32); v128.store(dst, tile3, 48);
          } else {
            storeTile(dst, tile0, outW - ox);
            if (tilesHere > 1) storeTile(dst + 16, tile1, outW - ox - 4);
            if (tilesHere > 2) storeTile(dst + 32, tile2, outW - ox - 8);
            if (tilesHere > 3) storeTile(dst + 48, tile3, outW - ox - 12);
          }
        }
      }
    }
    t = segEnd;
  }
}

// The first min(4, cols) lanes of a tile row.
@inline function storeTile(dst: usize, y: v128, cols: i32): void {
  if (cols >= 4) { v128.store(dst, y); return; }
  if (cols > 0) store<f32>(dst, f32x4.extract_lane(y, 0));
  if (cols > 1) store<f32>(dst, f32x4.extract_lane(y, 1), 4);
  if (cols > 2) store<f32>(dst, f32x4.extract_lane(y, 2), 8);
}

// x is (N,C,H,W), u is (36, O, C) from winograd4Filter (packed, positions winograd4FilterPlane apart), bias is (O) or 0, out is (N,O,OH,OW); geom as for
// winogradConv. Threads split the tiles of all images; each share runs chunks of WINOGRAD4_TILES tiles: transform
// their inputs to V (C, 36, tiles), 36 GEMMs M[:, p] = U[p] @ V[:, p] (M is (O, 36, tiles)), then Y = A^T M A.
// Scratch per thread: winograd4ScratchFloats(C, O, OW) floats.
export function winograd4Conv(x: usize, u: usize, bias: usize, geom: usize, out: usize,
  scratch: usize, tid: i32, nt: i32): void {
  const n = gi(geom, 0), cIn = gi(geom, 1), h = gi(geom, 2), w = gi(geom, 3), cOut = gi(geom, 4);
  const padH = gi(geom, 9), padW = gi(geom, 10), outH = gi(geom, 14), outW = gi(geom, 15);
  const tilesH = (outH + 3) >> 2, tilesW = (outW + 3) >> 2, total = n * tilesH * tilesW;
  const rowLen = paddedRowLength4(outW);
  const v = addr(scratch, GEMM_SCRATCH), m = addr(v, 36 * cIn * TILE_STRIDE), rows = addr(m, 36 * cOut * TILE_STRIDE);
  const tmp = addr(rows, 6 * rowLen), uPlane = winograd4FilterPlane(cIn, cOut);
  const t0 = part(total, tid, nt), t1 = part(total, tid + 1, nt);
  for (let c0 = t0; c0 < t1; c0 += WINOGRAD4_TILES) {
    const c1 = min<i32>(t1, c0 + WINOGRAD4_TILES), count = c1 - c0;
    inputTransform4(x, cIn, h, w, padH, padW, tilesH, tilesW, c0, c1, v, rows, rowLen, tmp);
    for (let p = 0; p < 36; p++) {
      // B = V[:, p] read in place: rows 36 x TILE_STRIDE floats apart, each readable to 64 >= count rounded up to 16
      gemmPackedAST(cOut, count, cIn, addr(u, p * uPlane), addr(v, p * TILE_STRIDE), 36 * TILE_STRIDE,
        addr(m, p * TILE_STRIDE), 36 * TILE_STRIDE, false, scratch);
    }
    outputTransform4(m, bias, cOut, outH, outW, tilesH, tilesW, c0, c1, out, tmp);
  }
}
