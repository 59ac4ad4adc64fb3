// Winograd minimal filtering F(2x2,3x3) for 3x3, stride-1, dilation-1, ungrouped convolutions.
//
// A 2x2 block of outputs (a "tile") of one output channel needs 4x4 inputs per input channel. With the filter
// transformed once, U = G g G^T (4x4 per (o,c)), and each 4x4 input patch transformed, V = B^T d B, the 16
// elementwise products summed over input channels give M = sum_c U[o,c] . V[c], and Y = A^T M A is the 2x2 output:
// 16 multiplies per tile and input channel instead of 36. The sum over c at each of the 16 tile positions is a
// GEMM [cOut x cIn] @ [cIn x tiles], run by the packed SGEMM of gemm.ts (gemmST) over the tiles of all images.
//
//   B^T = [1  0 -1  0]     G = [ 1    0    0 ]     A^T = [1 1  1  0]
//         [0  1  1  0]         [1/2  1/2  1/2]           [0 1 -1 -1]
//         [0 -1  1  0]         [1/2 -1/2  1/2]
//         [0  1  0 -1]         [ 0    0    1 ]
//
// The input gradient of such a convolution is the same operation on the output gradient, with the filters rotated
// 180 degrees and their in/out channels swapped (winogradFilter's `backward`), and padding 2 - pad: the host writes
// that geometry and calls winogradConv.
//
// Determinism: a tile's outputs depend only on that tile's inputs and on U, and are computed by the same
// arithmetic (4-lane vectors whose lanes are tiles; the GEMM reduces each column in the same order whatever the
// number of columns) wherever the tile falls in a share or a chunk, so 1 and N threads give identical bits.

import { addr, gi, part } from './common';
import { gemmST, GEMM_SCRATCH } from './gemm';

/** Tiles per GEMM chunk (the GEMM's column count); a multiple of the micro-kernel's 16 columns. */
export const WINOGRAD_TILES: i32 = 128;
/** Row stride (floats) of the transformed-input and product buffers: 4-tile vector writes may run 3 past a chunk. */
const TILE_STRIDE: i32 = WINOGRAD_TILES + 4;

/** Floats of scratch one thread needs for winogradConv with cIn input and cOut output channels and outW columns. */
export function winogradScratchFloats(cIn: i32, cOut: i32, outW: i32): i32 {
  return GEMM_SCRATCH + 16 * (cIn + cOut) * TILE_STRIDE + 4 * paddedRowLength(outW);
}

// One input row of a tile row, zero-padded: entry e holds x[ix = e - padW]. A 4-tile group starting at tile tx
// reads entries 2tx .. 2tx+9, and groups may start at any tile up to tilesW-1.
@inline function paddedRowLength(outW: i32): i32 {
  const tilesW = (outW + 1) >> 1;
  return (2 * tilesW + 8 + 3) & ~3;
}

/**
 * Floats between two positions of a transformed filter bank u: the plane plus one cache line, so that the 16 (or 36)
 * positions one filter's transform writes do not all fall into the same cache set (with 64x64 channels a plane is
 * 16 KiB, and unpadded the transform of F(4x4,3x3) took as long as its tiles on an 8x8 layer).
 */
export function winogradFilterPlane(cIn: i32, cOut: i32): i32 {
  return cIn * cOut + 16;
}

/** Tap i (row-major) of the 3x3 filter at src, or of the filter rotated 180 degrees when `backward`, in f64. */
@inline export function filterTap(src: usize, i: i32, backward: i32): f64 {
  return <f64>load<f32>(src + (<usize>(backward != 0 ? 8 - i : i) << 2));
}

// w is (O,C,3,3); u is (16, rows, cols): u[p, r, s] is position p of G g G^T, where for the forward convolution
// (rows, cols) = (o, c) and g = w[o,c], and for the input gradient (rows, cols) = (c, o) and g = w[o,c] rotated
// 180 degrees. The transform runs in f64 and rounds once. Threads split the rows.
export function winogradFilter(w: usize, u: usize, cOut: i32, cIn: i32, backward: i32, tid: i32, nt: i32): void {
  const rows = backward != 0 ? cIn : cOut, cols = backward != 0 ? cOut : cIn;
  const plane = winogradFilterPlane(cIn, cOut);
  for (let r = part(rows, tid, nt); r < part(rows, tid + 1, nt); r++) {
    for (let s = 0; s < cols; s++) {
      const o = backward != 0 ? s : r, c = backward != 0 ? r : s;
      const src = addr(w, (o * cIn + c) * 9);
      // g[i][j], rotated 180 degrees for the input gradient
      const g0 = filterTap(src, 0, backward), g1 = filterTap(src, 1, backward), g2 = filterTap(src, 2, backward);
      const g3 = filterTap(src, 3, backward), g4 = filterTap(src, 4, backward), g5 = filterTap(src, 5, backward);
      const g6 = filterTap(src, 6, backward), g7 = filterTap(src, 7, backward), g8 = filterTap(src, 8, backward);
      // t = G g (4x3), column by column
      const t00 = g0, t10 = 0.5 * (g0 + g3 + g6), t20 = 0.5 * (g0 - g3 + g6), t30 = g6;
      const t01 = g1, t11 = 0.5 * (g1 + g4 + g7), t21 = 0.5 * (g1 - g4 + g7), t31 = g7;
      const t02 = g2, t12 = 0.5 * (g2 + g5 + g8), t22 = 0.5 * (g2 - g5 + g8), t32 = g8;
      // U = t G^T (4x4), row by row
      const dst = addr(u, r * cols + s), step = <usize>plane << 2;
      storeRow(dst, step, 0, t00, t01, t02);
      storeRow(dst, step, 4, t10, t11, t12);
      storeRow(dst, step, 8, t20, t21, t22);
      storeRow(dst, step, 12, t30, t31, t32);
    }
  }
}

@inline function storeRow(dst: usize, step: usize, p0: i32, a: f64, b: f64, c: f64): void {
  store<f32>(dst + <usize>p0 * step, <f32>a);
  store<f32>(dst + <usize>(p0 + 1) * step, <f32>(0.5 * (a + b + c)));
  store<f32>(dst + <usize>(p0 + 2) * step, <f32>(0.5 * (a - b + c)));
  store<f32>(dst + <usize>(p0 + 3) * step, <f32>c);
}

// Zero-padded copy of input row iy of one channel plane into row (length len): entry e holds xc[iy, e - padW].
@inline export function padRow(xc: usize, h: i32, w: i32, iy: i32, padW: i32, row: usize, len: i32): void {
  if (iy < 0 || iy >= h) {
    for (let e = 0; e < len; e += 4) v128.store(addr(row, e), f32x4.splat(0));
    return;
  }
  const src = addr(xc, iy * w);
  const lo = min<i32>(len, max<i32>(0, padW)), hi = max<i32>(lo, min<i32>(len, w + padW));
  for (let e = 0; e < lo; e++) store<f32>(addr(row, e), 0);
  let e = lo;
  for (; e + 4 <= hi; e += 4) v128.store(addr(row, e), v128.load(addr(src, e - padW)));
  for (; e < hi; e++) store<f32>(addr(row, e), load<f32>(addr(src, e - padW)));
  for (; e < len; e++) store<f32>(addr(row, e), 0);
}

// x is (N,C,H,W), u is (16, O, C) from winogradFilter (positions winogradFilterPlane apart), bias is (O) or 0, out is (N,O,OH,OW).
// geom: a 3x3 stride-1 convolution (kernel size, stride, dilation and groups are not read).
// Threads split the tiles of all images (tile t = (b*tilesH + ty)*tilesW + tx); each share runs chunks of
// WINOGRAD_TILES tiles: transform their inputs to V (16, C, tiles), 16 GEMMs M[p] = U[p] @ V[p], then Y = A^T M A.
// Scratch per thread: winogradScratchFloats(C, O, OW) floats.
export function winogradConv(x: usize, u: usize, bias: usize, geom: usize, out: usize,
  scratch: usize, tid: i32, nt: i32): void {
  const n = gi(geom, 0), cIn = gi(geom, 1), h = gi(geom, 2), w = gi(geom, 3), cOut = gi(geom, 4);
  const padH = gi(geom, 9), padW = gi(geom, 10), outH = gi(geom, 14), outW = gi(geom, 15);
  const tilesH = (outH + 1) >> 1, tilesW = (outW + 1) >> 1, tilesPerImage = tilesH * tilesW;
  const total = n * tilesPerImage;
  const v = addr(scratch, GEMM_SCRATCH), m = addr(v, 16 * cIn * TILE_STRIDE), rows = addr(m, 16 * cOut * TILE_STRIDE);
  const rowLen = paddedRowLength(outW), uPlane = winogradFilterPlane(cIn, cOut);
  const t0 = part(total, tid, nt), t1 = part(total, tid + 1, nt);
  for (let c0 = t0; c0 < t1; c0 += WINOGRAD_TILES) {
    const c1 = min<i32>(t1, c0 + WINOGRAD_TILES), count = c1 - c0;
    inputTransform(x, cIn, cIn, h, w, padH, padW, tilesH, tilesW, c0, c1, v, rows, rowLen);
    for (let p = 0; p < 16; p++) {
      gemmST(false, false, cOut, count, cIn, addr(u, p * uPlane), cIn, addr(v, p * cIn * TILE_STRIDE), TILE_STRIDE,
        addr(m, p * cOut * TILE_STRIDE), TILE_STRIDE, false, scratch);
    }
    outputTransform(m, bias, cOut, outH, outW, tilesH, tilesW, c0, c1, out);
  }
}

// V[p, c, k] for the tiles c0..c1 (k = t - c0), one tile-row segment (image b, row ty, tiles tx0..) at a time.
// Each 4-tile group is transformed in 4 lanes; a group that runs past its segment writes garbage into the next
// k slots, which the next segment (processed later) overwrites, or into the 4 spare columns after the chunk.
// Positions are planeRows x TILE_STRIDE floats apart (planeRows >= cIn).
function inputTransform(x: usize, cIn: i32, planeRows: i32, h: i32, w: i32, padH: i32, padW: i32, tilesH: i32, tilesW: i32,
  c0: i32, c1: i32, v: usize, rows: usize, rowLen: i32): void {
  const tilesPerImage = tilesH * tilesW, plane = planeRows * TILE_STRIDE;
  const r0 = rows, r1 = addr(rows, rowLen), r2 = addr(rows, 2 * rowLen), r3 = addr(rows, 3 * rowLen);
  let t = c0;
  while (t < c1) {
    const b = t / tilesPerImage, rem = t % tilesPerImage, ty = rem / tilesW, tx0 = rem % tilesW;
    const segEnd = min<i32>(c1, t + tilesW - tx0), k0 = t - c0, len = segEnd - t;
    const iy = 2 * ty - padH;
    for (let c = 0; c < cIn; c++) {
      const xc = addr(x, (b * cIn + c) * h * w);
      padRow(xc, h, w, iy, padW, r0, rowLen);
      padRow(xc, h, w, iy + 1, padW, r1, rowLen);
      padRow(xc, h, w, iy + 2, padW, r2, rowLen);
      padRow(xc, h, w, iy + 3, padW, r3, rowLen);
      const vc = addr(v, c * TILE_STRIDE + k0);
      for (let g = 0; g < len; g += 4) {
        const e = 2 * (tx0 + g);
        // d.B of each patch row: columns (d0-d2, d1+d2, d2-d1, d1-d3), lanes = 4 tiles
        let a0: v128, a1: v128, a2: v128, a3: v128;
        let b0: v128, b1: v128, b2: v128, b3: v128;
        let q0: v128, q1: v128, q2: v128, q3: v128;
        let s0: v128, s1: v128, s2: v128, s3: v128;
        {
          const lo = v128.load(addr(r0, e)), hi = v128.load(addr(r0, e + 4));
          const lo2 = v128.load(addr(r0, e + 2)), hi2 = v128.load(addr(r0, e + 6));
          const d0 = v128.shuffle<f32>(lo, hi, 0, 2, 4, 6), d1 = v128.shuffle<f32>(lo, hi, 1, 3, 5, 7);
          const d2 = v128.shuffle<f32>(lo2, hi2, 0, 2, 4, 6), d3 = v128.shuffle<f32>(lo2, hi2, 1, 3, 5, 7);
          a0 = f32x4.sub(d0, d2); a1 = f32x4.add(d1, d2); a2 = f32x4.sub(d2, d1); a3 = f32x4.sub(d1, d3);
        }
        {
          const lo = v128.load(addr(r1, e)), hi = v128.load(addr(r1, e + 4));
          const lo2 = v128.load(addr(r1, e + 2)), hi2 = v128.load(addr(r1, e + 6));
          const d0 = v128.shuffle<f32>(lo, hi, 0, 2, 4, 6), d1 = v128.shuffle<f32>(lo, hi, 1, 3, 5, 7);
          const d2 = v128.shuffle<f32>(lo2, hi2, 0, 2, 4, 6), d3 = v128.shuffle<f32>(lo2, hi2, 1, 3, 5, 7);
          b0 = f32x4.sub(d0, d2); b1 = f32x4.add(d1, d2); b2 = f32x4.sub(d2, d1); b3 = f32x4.sub(d1, d3);
        }
        {
          const lo = v128.load(addr(r2, e)), hi = v128.load(addr(r2, e + 4));
          const lo2 = v128.load(addr(r2, e + 2)), hi2 = v128.load(addr(r2, e + 6));
          const d0 = v128.shuffle<f32>(lo, hi, 0, 2, 4, 6), d1 = v128.shuffle<f32>(lo, hi, 1, 3, 5, 7);
          const d2 = v128.shuffle<f32>(lo2, hi2, 0, 2, 4, 6), d3 = v128.shuffle<f32>(lo2, hi2, 1, 3, 5, 7);
          q0 = f32x4.sub(d0, d2); q1 = f32x4.add(d1, d2); q2 = f32x4.sub(d2, d1); q3 = f32x4.sub(d1, d3);
        }
        {
          const lo = v128.load(addr(r3, e)), hi = v128.load(addr(r3, e + 4));
          const lo2 = v128.load(addr(r3, e + 2)), hi2 = v128.load(addr(r3, e + 6));
          const d0 = v128.shuffle<f32>(lo, hi, 0, 2, 4, 6), d1 = v128.shuffle<f32>(lo, hi, 1, 3, 5, 7);
          const d2 = v128.shuffle<f32>(lo2, hi2, 0, 2, 4, 6), d3 = v128.shuffle<f32>(lo2, hi2, 1, 3, 5, 7);
          s0 = f32x4.sub(d0, d2); s1 = f32x4.add(d1, d2); s2 = f32x4.sub(d2, d1); s3 = f32x4.sub(d1, d3);
        }
        // B^T (d.B): rows (r0-r2, r1+r2, r2-r1, r1-r3); position p = 4*i + j goes to V[p, c, k]
        const at = addr(vc, g), step = <usize>plane << 2;
        v128.store(at, f32x4.sub(a0, q0));
        v128.store(at + step, f32x4.sub(a1, q1));
        v128.store(at + 2 * step, f32x4.sub(a2, q2));
        v128.store(at + 3 * step, f32x4.sub(a3, q3));
        v128.store(at + 4 * step, f32x4.add(b0, q0));
        v128.store(at + 5 * step, f32x4.add(b1, q1));
        v128.store(at + 6 * step, f32x4.add(b2, q2));
        v128.store(at + 7 * step, f32x4.add(b3, q3));
        v128.store(at + 8 * step, f32x4.sub(q0, b0));
        v128.store(at + 9 * step, f32x4.sub(q1, b1));
        v128.store(at + 10 * step, f32x4.sub(q2, b2));
        v128.store(at + 11 * step, f32x4.sub(q3, b3));
        v128.store(at + 12 * step, f32x4.sub(b0, s0));
        v128.store(at + 13 * step, f32x4.sub(b1, s1));
        v128.store(at + 14 * step, f32x4.sub(b2, s2));
        v128.store(at + 15 * step, f32x4.sub(b3, s3));
      }
    }
    t = segEnd;
  }
}

// Y = A^T M A (+ bias) for the tiles c0..c1, 4 tiles per vector. Groups that run past their segment compute
// garbage lanes (never stored); partial tiles at an odd right or bottom edge store only their valid outputs.
function outputTransform(m: usize, bias: usize, cOut: i32, outH: i32, outW: i32, tilesH: i32, tilesW: i32,
  c0: i32, c1: i32, out: usize): void {
  const tilesPerImage = tilesH * tilesW, outPlane = outH * outW;
  const step = <usize>(cOut * TILE_STRIDE) << 2;
  let t = c0;
  while (t < c1) {
    const b = t / tilesPerImage, rem = t % tilesPerImage, ty = rem / tilesW, tx0 = rem % tilesW;
    const segEnd = min<i32>(c1, t + tilesW - tx0), k0 = t - c0, len = segEnd - t;
    const oy = 2 * ty, fullRows = oy + 1 < outH;
    for (let o = 0; o < cOut; o++) {
      const bv = bias != 0 ? f32x4.splat(load<f32>(addr(bias, o))) : f32x4.splat(0);
      const mo = addr(m, o * TILE_STRIDE + k0);
      const row0 = addr(out, (b * cOut + o) * outPlane + oy * outW);
      const row1 = addr(row0, outW);
      for (let g = 0; g < len; g += 4) {
        const at = addr(mo, g);
        const m0 = v128.load(at), m1 = v128.load(at + step), m2 = v128.load(at + 2 * step), m3 = v128.load(at + 3 * step);
        const m4 = v128.load(at + 4 * step), m5 = v128.load(at + 5 * step), m6 = v128.load(at + 6 * step), m7 = v128.load(at + 7 * step);
        const m8 = v128.load(at + 8 * step), m9 = v128.load(at + 9 * step), m10 = v128.load(at + 10 * step), m11 = v128.load(at + 11 * step);
        const m12 = v128.load(at + 12 * step), m13 = v128.load(at + 13 * step), m14 = v128.load(at + 14 * step), m15 = v128.load(at + 15 * step);
        // M A, row by row: (m0+m1+m2, m1-m2-m3)
        const a0 = f32x4.add(f32x4.add(m0, m1), m2), e0 = f32x4.sub(f32x4.sub(m1, m2), m3);
        const a1 = f32x4.add(f32x4.add(m4, m5), m6), e1 = f32x4.sub(f32x4.sub(m5, m6), m7);
        const a2 = f32x4.add(f32x4.add(m8, m9), m10), e2 = f32x4.sub(f32x4.sub(m9, m10), m11);
        const a3 = f32x4.add(f32x4.add(m12, m13), m14), e3 = f32x4.sub(f32x4.sub(m13, m14), m15);
        // A^T (M A) + bias
        const y00 = f32x4.add(f32x4.add(f32x4.add(a0, a1), a2), bv), y01 = f32x4.add(f32x4.add(f32x4.add(e0, e1), e2), bv);
        const y10 = f32x4.add(f32x4.sub(f32x4.sub(a1, a2), a3), bv), y11 = f32x4.add(f32x4.sub(f32x4.sub(e1, e2), e3), bv);
        // output columns 2tx, 2tx+1 of the 4 tiles, interleaved
        const top0 = v128.shuffle<f32>(y00, y01, 0, 4, 1, 5), top1 = v128.shuffle<f32>(y00, y01, 2, 6, 3, 7);
        const bot0 = v128.shuffle<f32>(y10, y11, 0, 4, 1, 5), bot1 = v128.shuffle<f32>(y10, y11, 2, 6, 3, 7);
        const ox = 2 * (tx0 + g);
        if (g + 4 <= len && ox + 8 <= outW) {
          v128.store(addr(row0, ox), top0); v128.store(addr(row0, ox + 4), top1);
          if (fullRows) { v128.store(addr(row1, ox), bot0); v128.store(addr(row1, ox + 4), bot1); }
        } else {
          const cols = min<i32>(min<i32>(8, 2 * (len - g)), outW - ox);
          storePartial(addr(row0, ox), top0, top1, cols);
          if (fullRows) storePartial(addr(row1, ox), bot0, bot1, cols);
        }
      }
    }
    t = segEnd;
  }
}

@inline function storePartial(dst: usize, lo: v128, hi: v128, cols: i32): void {
  if (cols > 0) store<f32>(dst, f32x4.extract_lane(lo, 0));
  if (cols > 1) store<f32>(dst, f32x4.extract_lane(lo, 1), 4);
  if (cols > 2) store<f32>(dst, f32x4.extract_lane(lo, 2), 8);
  if (cols > 3) store<f32>(dst, f32x4.extract_lane(lo, 3), 12);
  if (cols > 4) store<f32>(dst, f32x4.extract_lane(hi, 0), 16);
  if (cols > 5) store<f32>(dst, f32x4.extract_lane(hi, 1), 20);
  if (cols > 6) store<f32>(dst, f32x4.extract_lane(hi, 2), 24);
  if (cols > 7) store<f32>(dst, f32x4.extract_lane(hi, 3), 28);
}

// ---------------------------------------------------------------- weight gradient: F(3x3,2x2)
//
// gw[o,c,i,j] = sum over images and output positions of gy[o,oy,ox] * x[c, oy+i-padH, ox+j-padW]. Per 2x2 tile of
// gy (the same tiles as the forward pass) that is a 3x3 correlation of the tile's 4x4 input patch d with the 2x2
// gy block g, computed as A'^T [(G' g G'^T) . (B'^T d B')] A' with
//   B'^T = [1  0 -1  0]    G' = [ 1    0  ]    A'^T = [1 1  1 0]
//          [0  1  1  0]         [1/2  1/2]            [0 1 -1 0]
//          [0 -1  1  0]         [1/2 -1/2]            [0 1  1 1]
//          [0 -1  0  1]         [ 0    1 ]
// B'^T = D B^T with D = diag(1,1,1,-1), so B'^T d B' = D V D with V the forward transform: the signs move onto
// G'' = D G' (last row -1) and the forward inputTransform serves unchanged. The inverse transform is linear, so
// M[p] = sum over tiles U''[p](gy) V[p](x) (a [cOut x tiles] @ [tiles x cIn] product per position p, summed in place by
// wgradBlock4x2), and A'^T M A' runs once per (o,c) at the end.

/**
 * Tiles per f32 partial sum of the weight gradient, per vector lane: a lane sums every 4th tile of a run of
 * 4 x TILES_PER_LANE tiles in f32, then the lanes are added in f64 to the f64 sum. 16 tiles are 64 output
 * positions, as in the GEMM path (conv.ts): 32 put a PyTorch fixture at 1.08x the suite's error bound (16: 0.69x,
 * the GEMM path 0.65x).
 */
const TILES_PER_LANE: i32 = 16;

/**
 * Tile groups of the weight gradient: the tiles of all images are cut into this many consecutive ranges (fewer when
 * there are fewer than WEIGHT_GRAD_TILES_PER_GROUP tiles a range), each summed into its own f64 accumulator by one
 * share, and the accumulators are added in order at the end (winogradWeightGradFinish). A fixed number, not one per
 * thread, so the bits never depend on the thread count. 8, not 4: with 4, 2 threads waited for each other 2.9% of
 * a resnet20 training step here (a late share is a quarter of the work), with 8 2.0%.
 */
export const WEIGHT_GRAD_TILE_GROUPS: i32 = 8;
const WEIGHT_GRAD_TILES_PER_GROUP: i32 = 256;

/** How many tile groups winogradWeightGrad uses for `total` tiles. */
export function winogradWeightGradGroups(total: i32): i32 {
  return max<i32>(1, min<i32>(WEIGHT_GRAD_TILE_GROUPS, total / WEIGHT_GRAD_TILES_PER_GROUP));
}

/** Tiles (2x2 blocks of gy) of a convolution's weight gradient: the host sizes the accumulators from it. */
export function winogradWeightGradTiles(n: i32, outH: i32, outW: i32): i32 {
  return n * ((outH + 1) >> 1) * ((outW + 1) >> 1);
}

/** Floats of scratch one thread needs for winogradWeightGrad (its blocks round O up to 4 and C up to 2 rows). */
export function winogradWeightGradScratchFloats(cIn: i32, cOut: i32, outW: i32): i32 {
  return 16 * (((cIn + 1) & ~1) + ((cOut + 3) & ~3)) * TILE_STRIDE + 4 * paddedRowLength(outW);
}

// U''[p, o, k] for the tiles c0..c1 of gy (N,O,OH,OW) (positions planeRows x TILE_STRIDE floats apart): G'' g G''^T of each 2x2 block (zero past the edges),
// 4 tiles per vector, garbage lanes as in inputTransform.
function gradTransform(gy: usize, cOut: i32, planeRows: i32, outH: i32, outW: i32, tilesH: i32, tilesW: i32,
  c0: i32, c1: i32, ug: usize, rows: usize, rowLen: i32): void {
  const tilesPerImage = tilesH * tilesW, step = <usize>(planeRows * TILE_STRIDE) << 2;
  const r0 = rows, r1 = addr(rows, rowLen), half = f32x4.splat(0.5);
  let t = c0;
  while (t < c1) {
    const b = t / tilesPerImage, rem = t % tilesPerImage, ty = rem / tilesW, tx0 = rem % tilesW;
    const segEnd = min<i32>(c1, t + tilesW - tx0), k0 = t - c0, len = segEnd - t;
    for (let o = 0; o < cOut; o++) {
      const plane = addr(gy, (b * cOut + o) * outH * outW);
      padRow(plane, outH, outW, 2 * ty, 0, r0, rowLen);
      padRow(plane, outH, outW, 2 * ty + 1, 0, r1, rowLen);
      const at0 = addr(ug, o * TILE_STRIDE + k0);
      for (let g = 0; g < len; g += 4) {
        const e = 2 * (tx0 + g);
        const lo0 = v128.load(addr(r0, e)), hi0 = v128.load(addr(r0, e + 4));
        const lo1 = v128.load(addr(r1, e)), hi1 = v128.load(addr(r1, e + 4));
        const g00 = v128.shuffle<f32>(lo0, hi0, 0, 2, 4, 6), g01 = v128.shuffle<f32>(lo0, hi0, 1, 3, 5, 7);
        const g10 = v128.shuffle<f32>(lo1, hi1, 0, 2, 4, 6), g11 = v128.shuffle<f32>(lo1, hi1, 1, 3, 5, 7);
        // G'' g (4x2): rows (g0, (g0+g1)/2, (g0-g1)/2, -g1), per column b
        const t00 = g00, t01 = g01;
        const t10 = f32x4.mul(f32x4.add(g00, g10), half), t11 = f32x4.mul(f32x4.add(g01, g11), half);
        const t20 = f32x4.mul(f32x4.sub(g00, g10), half), t21 = f32x4.mul(f32x4.sub(g01, g11), half);
        const t30 = f32x4.neg(g10), t31 = f32x4.neg(g11);
        const at = addr(at0, g);
        storeGradRow(at, step, 0, t00, t01, half);
        storeGradRow(at, step, 4, t10, t11, half);
        storeGradRow(at, step, 8, t20, t21, half);
        storeGradRow(at, step, 12, t30, t31, half);
      }
    }
    t = segEnd;
  }
}

// (t G''^T) of one row: (a, (a+b)/2, (a-b)/2, -b) at positions p0..p0+3.
@inline function storeGradRow(at: usize, step: usize, p0: i32, a: v128, b: v128, half: v128): void {
  v128.store(at + <usize>p0 * step, a);
  v128.store(at + <usize>(p0 + 1) * step, f32x4.mul(f32x4.add(a, b), half));
  v128.store(at + <usize>(p0 + 2) * step, f32x4.mul(f32x4.sub(a, b), half));
  v128.store(at + <usize>(p0 + 3) * step, f32x4.neg(b));
}

// x is (N,C,H,W), gy is (N,O,OH,OW); geom as for winogradConv. acc holds `groups` (winogradWeightGradGroups) blocks
// of 16 x O x C f64, overwritten: block q is M = sum over tile group q's tiles of U''[p](gy) V[p](x). Shares split
// the groups; every share transforms all channels of its own tiles, so no transform is done twice (splitting the
// channels instead made each thread transform all of x or all of gy: with 2 threads those transforms took 1.2x
// their 1-thread time, not 0.5x). The sums over tiles run on the transformed rows in place, 4 tiles per vector
// (wgradBlock4x2): a GEMM would need both operands transposed into its packed layouts first, for a reduction of only
// 16 tiles between f64 additions. Within a group, M is the f64 sum, over runs of 4 x TILES_PER_LANE tiles in order,
// of the f64 sum of the 4 lanes' f32 partial sums. Scratch per thread: winogradWeightGradScratchFloats(C, O, OW) floats.
export function winogradWeightGrad(x: usize, gy: usize, geom: usize, acc: usize, groups: i32, scratch: usize, tid: i32, nt: i32): void {
  const n = gi(geom, 0), cIn = gi(geom, 1), h = gi(geom, 2), w = gi(geom, 3), cOut = gi(geom, 4);
  const padH = gi(geom, 9), padW = gi(geom, 10), outH = gi(geom, 14), outW = gi(geom, 15);
  const tilesH = (outH + 1) >> 1, tilesW = (outW + 1) >> 1, total = n * tilesH * tilesW;
  const rowLen = paddedRowLength(max<i32>(outW, 2 * tilesW));
  // Blocks of 4 output x 2 input channels: the rows past cOut and cIn stay zero, so the blocks need no edge code.
  const oRows = (cOut + 3) & ~3, cRows = (cIn + 1) & ~1;
  const v = scratch, ug = addr(v, 16 * cRows * TILE_STRIDE), rows = addr(ug, 16 * oRows * TILE_STRIDE);
  const len = 16 * cOut * cIn;
  for (let p = 0; p < 16; p++) {
    for (let c = cIn; c < cRows; c++) zeroRow(addr(v, (p * cRows + c) * TILE_STRIDE));
    for (let o = cOut; o < oRows; o++) zeroRow(addr(ug, (p * oRows + o) * TILE_STRIDE));
  }
  for (let q = part(groups, tid, nt); q < part(groups, tid + 1, nt); q++) {
    const sum = acc + (<usize>(q * len) << 3);
    for (let i = 0; i < len; i++) store<f64>(sum + (<usize>i << 3), 0);
    const q1 = part(total, q + 1, groups);
    for (let c0 = part(total, q, groups); c0 < q1; c0 += WINOGRAD_TILES) {
      const c1 = min<i32>(q1, c0 + WINOGRAD_TILES), count = c1 - c0, padded = (count + 3) & ~3;
      inputTransform(x, cIn, cRows, h, w, padH, padW, tilesH, tilesW, c0, c1, v, rows, rowLen);
      gradTransform(gy, cOut, oRows, outH, outW, tilesH, tilesW, c0, c1, ug, rows, rowLen);
      // The lanes past the last tile hold the transforms of whatever lay past it: zero them in both operands.
      if (padded > count) {
        for (let r = 0; r < 16 * cRows; r++) zeroTail(addr(v, r * TILE_STRIDE), count, padded);
        for (let r = 0; r < 16 * oRows; r++) zeroTail(addr(ug, r * TILE_STRIDE), count, padded);
      }
      for (let k0 = 0; k0 < padded; k0 += 4 * TILES_PER_LANE) {
        const k1 = min<i32>(padded, k0 + 4 * TILES_PER_LANE);
        for (let p = 0; p < 16; p++) {
          const up = addr(ug, p * oRows * TILE_STRIDE), vp = addr(v, p * cRows * TILE_STRIDE);
          const mp = sum + (<usize>(p * cOut * cIn) << 3);
          for (let o = 0; o < cOut; o += 4) {
            for (let c = 0; c < cIn; c += 2) {
              wgradBlock4x2(addr(up, o * TILE_STRIDE), addr(vp, c * TILE_STRIDE), k0, k1, mp, cOut, cIn, o, c);
            }
          }
        }
      }
    }
  }
}

@inline function zeroRow(row: usize): void {
  for (let k = 0; k < TILE_STRIDE; k += 4) v128.store(addr(row, k), f32x4.splat(0));
}

@inline function zeroTail(row: usize, from: i32, to: i32): void {
  for (let k = from; k < to; k++) store<f32>(addr(row, k), 0);
}

// m[o+i, c+j] += sum over tiles k0..k1 (a multiple of 4 apart) of u[i][k] * v[j][k] for the block's rows i < 4 (TILE_STRIDE
// floats apart) and j < 2 that fall inside cOut x cIn: lane l sums the tiles k = l mod 4 in f32, the lanes add in f64.
@inline function wgradBlock4x2(u: usize, v: usize, k0: i32, k1: i32, m: usize, cOut: i32, cIn: i32, o: i32, c: i32): void {
  const rs = <usize>TILE_STRIDE << 2;
  let a00 = f32x4.splat(0), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
  for (let k = k0; k < k1; k += 4) {
    const off = <usize>k << 2;
    const v0 = v128.load(v + off), v1 = v128.load(v + rs + off);
    const u0 = v128.load(u + off), u1 = v128.load(u + rs + off), u2 = v128.load(u + 2 * rs + off), u3 = v128.load(u + 3 * rs + off);
    a00 = f32x4.add(a00, f32x4.mul(u0, v0)); a01 = f32x4.add(a01, f32x4.mul(u0, v1));
    a10 = f32x4.add(a10, f32x4.mul(u1, v0)); a11 = f32x4.add(a11, f32x4.mul(u1, v1));
    a20 = f32x4.add(a20, f32x4.mul(u2, v0)); a21 = f32x4.add(a21, f32x4.mul(u2, v1));
    a30 = f32x4.add(a30, f32x4.mul(u3, v0)); a31 = f32x4.add(a31, f32x4.mul(u3, v1));
  }
  const row = m + (<usize>(o * cIn + c) << 3), rstep = <usize>cIn << 3, two = c + 1 < cIn;
  addLanes(row, a00); if (two) addLanes(row + 8, a01);
  if (o + 1 < cOut) { addLanes(row + rstep, a10); if (two) addLanes(row + rstep + 8, a11); }
  if (o + 2 < cOut) { addLanes(row + 2 * rstep, a20); if (two) addLanes(row + 2 * rstep + 8, a21); }
  if (o + 3 < cOut) { addLanes(row + 3 * rstep, a30); if (two) addLanes(row + 3 * rstep + 8, a31); }
}

// *d += (l0 + l2) + (l1 + l3) of the f32 lanes of a, in f64.
@inline function addLanes(d: usize, a: v128): void {
  const s = f64x2.add(f64x2.promote_low_f32x4(a), f64x2.promote_low_f32x4(i32x4.shuffle(a, a, 2, 3, 0, 1)));
  store<f64>(d, load<f64>(d) + (f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1)));
}

// gw (O,C,3,3) = A'^T M A' per (o, c), M the sum of winogradWeightGrad's `groups` accumulators in order (f64).
// Threads split the output channels.
export function winogradWeightGradFinish(acc: usize, groups: i32, cOut: i32, cIn: i32, gw: usize, tid: i32, nt: i32): void {
  const block = cOut * cIn, pstep = <usize>block << 3, gstep = <usize>(16 * block) << 3;
  for (let o = part(cOut, tid, nt); o < part(cOut, tid + 1, nt); o++) {
    for (let c = 0; c < cIn; c++) {
      const base = acc + (<usize>(o * cIn + c) << 3);
      let m0: f64 = 0, m1: f64 = 0, m2: f64 = 0, m3: f64 = 0, m4: f64 = 0, m5: f64 = 0, m6: f64 = 0, m7: f64 = 0;
      let m8: f64 = 0, m9: f64 = 0, m10: f64 = 0, m11: f64 = 0, m12: f64 = 0, m13: f64 = 0, m14: f64 = 0, m15: f64 = 0;
      for (let q = 0; q < groups; q++) {
        const m = base + <usize>q * gstep;
        m0 += load<f64>(m); m1 += load<f64>(m + pstep); m2 += load<f64>(m + 2 * pstep); m3 += load<f64>(m + 3 * pstep);
        m4 += load<f64>(m + 4 * pstep); m5 += load<f64>(m + 5 * pstep); m6 += load<f64>(m + 6 * pstep); m7 += load<f64>(m + 7 * pstep);
        m8 += load<f64>(m + 8 * pstep); m9 += load<f64>(m + 9 * pstep); m10 += load<f64>(m + 10 * pstep); m11 += load<f64>(m + 11 * pstep);
        m12 += load<f64>(m + 12 * pstep); m13 += load<f64>(m + 13 * pstep); m14 += load<f64>(m + 14 * pstep); m15 += load<f64>(m + 15 * pstep);
      }
      // A'^T M (3x4), column by column q: (m0q+m1q+m2q, m1q-m2q, m1q+m2q+m3q)
      const a0 = m0 + m4 + m8, a1 = m1 + m5 + m9, a2 = m2 + m6 + m10, a3 = m3 + m7 + m11;
      const b0 = m4 - m8, b1 = m5 - m9, b2 = m6 - m10, b3 = m7 - m11;
      const e0 = m4 + m8 + m12, e1 = m5 + m9 + m13, e2 = m6 + m10 + m14, e3 = m7 + m11 + m15;
      const dst = addr(gw, (o * cIn + c) * 9);
      store<f32>(dst, <f32>(a0 + a1 + a2)); store<f32>(dst, <f32>(a1 - a2), 4); store<f32>(dst, <f32>(a1 + a2 + a3), 8);
      store<f32>(dst, <f32>(b0 + b1 + b2), 12); store<f32>(dst, <f32>(b1 - b2), 16); store<f32>(dst, <f32>(b1 + b2 + b3), 20);
      store<f32>(dst, <f32>(e0 + e1 + e2), 24); store<f32>(dst, <f32>(e1 - e2), 28); store<f32>(dst, <f32>(e1 + e2 + e3), 32);
    }
  }
}
