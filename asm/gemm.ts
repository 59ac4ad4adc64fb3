// Packed, register-blocked SGEMM with a 2x16 f32x4 micro-kernel (Goto/BLIS loop structure).
//
// C[m,n] (+)= op(A)[m,k] @ op(B)[k,n], row-major with leading dimensions lda/ldb/ldc (in floats).
// op(A) element (i,p) is a[i*lda+p], or a[p*lda+i] when transA; op(B) element (p,j) is b[p*ldb+j], or b[j*ldb+p] when transB.
//
// Determinism: every output element is computed as acc = (C or 0); then acc += a*b sequentially over p (f32 mul then
// f32 add, no FMA), in blocks of k that only store the f32 sum and load it back: the result of an element does not
// depend on the blocking or on which tile, edge path or thread computed it, so 1 and N threads give identical bits.

import { gi } from './common';

export const MR: i32 = 2;
export const NR: i32 = 16;
export const KC: i32 = 256;
export const MC: i32 = 128;
export const NC: i32 = 1024;
/** Floats of scratch one thread needs for gemmST: packed A block, packed B block, one edge tile. */
export const GEMM_SCRATCH: i32 = MC * KC + KC * NC + MR * NR;

// ap is (kc, 2) packed; bp is (kc, 16) with rows bStep bytes apart (64 when packed); c is a 2x16 tile with row
// stride ldc floats.
// load: start from the tile's current values (else from zero).
@inline
function kernel2x16(kc: i32, ap: usize, bp: usize, bStep: usize, c: usize, ldc: i32, load: bool): void {
  const r1 = c + (<usize>ldc << 2);
  let c00 = f32x4.splat(0), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, c13 = c00;
  if (load) {
    c00 = v128.load(c); c01 = v128.load(c, 16); c02 = v128.load(c, 32); c03 = v128.load(c, 48);
    c10 = v128.load(r1); c11 = v128.load(r1, 16); c12 = v128.load(r1, 32); c13 = v128.load(r1, 48);
  }
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(bp), b1 = v128.load(bp, 16), b2 = v128.load(bp, 32), b3 = v128.load(bp, 48);
    const a0 = v128.load32_splat(ap), a1 = v128.load32_splat(ap, 4);
    c00 = f32x4.add(c00, f32x4.mul(a0, b0)); c01 = f32x4.add(c01, f32x4.mul(a0, b1));
    c02 = f32x4.add(c02, f32x4.mul(a0, b2)); c03 = f32x4.add(c03, f32x4.mul(a0, b3));
    c10 = f32x4.add(c10, f32x4.mul(a1, b0)); c11 = f32x4.add(c11, f32x4.mul(a1, b1));
    c12 = f32x4.add(c12, f32x4.mul(a1, b2)); c13 = f32x4.add(c13, f32x4.mul(a1, b3));
    ap += 8; bp += bStep;
  }
  v128.store(c, c00); v128.store(c, c01, 16); v128.store(c, c02, 32); v128.store(c, c03, 48);
  v128.store(r1, c10); v128.store(r1, c11, 16); v128.store(r1, c12, 32); v128.store(r1, c13, 48);
}

// Narrow variants for the last strip of a row of tiles (only the first 8 or 4 of the 16 packed columns are
// useful): same per-element arithmetic as kernel2x16, so which one computed an element never shows in the bits.
@inline
function kernel2x8(kc: i32, ap: usize, bp: usize, bStep: usize, c: usize, ldc: i32): void {
  const r1 = c + (<usize>ldc << 2);
  let c00 = v128.load(c), c01 = v128.load(c, 16), c10 = v128.load(r1), c11 = v128.load(r1, 16);
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(bp), b1 = v128.load(bp, 16);
    const a0 = v128.load32_splat(ap), a1 = v128.load32_splat(ap, 4);
    c00 = f32x4.add(c00, f32x4.mul(a0, b0)); c01 = f32x4.add(c01, f32x4.mul(a0, b1));
    c10 = f32x4.add(c10, f32x4.mul(a1, b0)); c11 = f32x4.add(c11, f32x4.mul(a1, b1));
    ap += 8; bp += bStep;
  }
  v128.store(c, c00); v128.store(c, c01, 16); v128.store(r1, c10); v128.store(r1, c11, 16);
}

@inline
function kernel2x4(kc: i32, ap: usize, bp: usize, bStep: usize, c: usize, ldc: i32): void {
  const r1 = c + (<usize>ldc << 2);
  let c00 = v128.load(c), c10 = v128.load(r1);
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(bp);
    c00 = f32x4.add(c00, f32x4.mul(v128.load32_splat(ap), b0));
    c10 = f32x4.add(c10, f32x4.mul(v128.load32_splat(ap, 4), b0));
    ap += 8; bp += bStep;
  }
  v128.store(c, c00); v128.store(r1, c10);
}

// Pack op(B)[p0:p0+kc, j0:j0+nc] into strips of NR columns: strip s holds (kc, NR), zero-padded past nc.
function packB(transB: bool, b: usize, ldb: i32, p0: i32, kc: i32, j0: i32, nc: i32, dst: usize): void {
  for (let js = 0; js < nc; js += NR) {
    const w = min<i32>(NR, nc - js);
    const d = dst + (<usize>(js * kc) << 2);
    if (!transB) {
      let src = b + (<usize>(p0 * ldb + j0 + js) << 2);
      const step = <usize>ldb << 2;
      if (w == NR) {
        for (let p = 0; p < kc; p++) {
          const o = d + (<usize>p << 6);
          v128.store(o, v128.load(src)); v128.store(o, v128.load(src, 16), 16);
          v128.store(o, v128.load(src, 32), 32); v128.store(o, v128.load(src, 48), 48);
          src += step;
        }
      } else {
        for (let p = 0; p < kc; p++) {
          const o = d + (<usize>p << 6);
          for (let jj = 0; jj < w; jj++) store<f32>(o + (<usize>jj << 2), load<f32>(src + (<usize>jj << 2)));
          for (let jj = w; jj < NR; jj++) store<f32>(o + (<usize>jj << 2), 0);
          src += step;
        }
      }
    } else if (w == NR) {
      // element (p, j) = b[j*ldb + p]: 4 source rows x 4 values at a time, transposed in registers, so every
      // store is a whole vector (4 loads, 8 shuffles, 4 stores per 16 floats instead of 32 scalar accesses).
      const step = <usize>ldb << 2;
      for (let g = 0; g < NR; g += 4) {
        const s0 = b + (<usize>((j0 + js + g) * ldb + p0) << 2), s1 = s0 + step, s2 = s1 + step, s3 = s2 + step;
        const o = d + (<usize>g << 2);
        let p = 0;
        for (; p + 4 <= kc; p += 4) {
          const q = <usize>p << 2;
          const v0 = v128.load(s0 + q), v1 = v128.load(s1 + q), v2 = v128.load(s2 + q), v3 = v128.load(s3 + q);
          const t0 = i32x4.shuffle(v0, v1, 0, 4, 1, 5), t1 = i32x4.shuffle(v2, v3, 0, 4, 1, 5);
          const t2 = i32x4.shuffle(v0, v1, 2, 6, 3, 7), t3 = i32x4.shuffle(v2, v3, 2, 6, 3, 7);
          const r = o + (<usize>p << 6);
          v128.store(r, i32x4.shuffle(t0, t1, 0, 1, 4, 5));
          v128.store(r, i32x4.shuffle(t0, t1, 2, 3, 6, 7), 64);
          v128.store(r, i32x4.shuffle(t2, t3, 0, 1, 4, 5), 128);
          v128.store(r, i32x4.shuffle(t2, t3, 2, 3, 6, 7), 192);
        }
        for (; p < kc; p++) {
          const q = <usize>p << 2, r = o + (<usize>p << 6);
          store<f32>(r, load<f32>(s0 + q)); store<f32>(r + 4, load<f32>(s1 + q));
          store<f32>(r + 8, load<f32>(s2 + q)); store<f32>(r + 12, load<f32>(s3 + q));
        }
      }
    } else {
      // element (p, j) = b[j*ldb + p]: read each source row contiguously, write with stride NR.
      for (let jj = 0; jj < w; jj++) {
        const src = b + (<usize>((j0 + js + jj) * ldb + p0) << 2);
        const o = d + (<usize>jj << 2);
        for (let p = 0; p < kc; p++) store<f32>(o + (<usize>p << 6), load<f32>(src + (<usize>p << 2)));
      }
      for (let jj = w; jj < NR; jj++) {
        const o = d + (<usize>jj << 2);
        for (let p = 0; p < kc; p++) store<f32>(o + (<usize>p << 6), 0);
      }
    }
  }
}

// Pack op(A)[i0:i0+mc, p0:p0+kc] into strips of MR rows: strip holds (kc, MR), zero-padded past mc.
function packA(transA: bool, a: usize, lda: i32, i0: i32, mc: i32, p0: i32, kc: i32, dst: usize): void {
  for (let is = 0; is < mc; is += MR) {
    const h = min<i32>(MR, mc - is);
    const d = dst + (<usize>(is * kc) << 2);
    if (!transA) {
      const r0 = a + (<usize>((i0 + is) * lda + p0) << 2);
      if (h == 2) {
        // the two rows interleaved 4 floats at a time (2 loads, 2 shuffles, 2 stores per 8 floats, not 16 scalar
        // accesses: scalar packing was about 3% of an MLP forward's GEMM time)
        const r1 = r0 + (<usize>lda << 2);
        let p = 0;
        for (; p + 4 <= kc; p += 4) {
          const o = d + (<usize>p << 3), q = <usize>p << 2;
          const u = v128.load(r0 + q), v = v128.load(r1 + q);
          v128.store(o, v128.shuffle<f32>(u, v, 0, 4, 1, 5));
          v128.store(o, v128.shuffle<f32>(u, v, 2, 6, 3, 7), 16);
        }
        for (; p < kc; p++) {
          const o = d + (<usize>p << 3), q = <usize>p << 2;
          store<f32>(o, load<f32>(r0 + q)); store<f32>(o + 4, load<f32>(r1 + q));
        }
      } else {
        for (let p = 0; p < kc; p++) {
          const o = d + (<usize>p << 3);
          store<f32>(o, load<f32>(r0 + (<usize>p << 2))); store<f32>(o + 4, 0);
        }
      }
    } else {
      // element (i, p) = a[p*lda + i]: two adjacent floats per p.
      let src = a + (<usize>(p0 * lda + i0 + is) << 2);
      const step = <usize>lda << 2;
      if (h == 2) {
        // the two adjacent floats of each p as one 64-bit copy (bits unchanged)
        for (let p = 0; p < kc; p++) { store<i64>(d + (<usize>p << 3), load<i64>(src)); src += step; }
      } else {
        for (let p = 0; p < kc; p++) {
          const o = d + (<usize>p << 3);
          store<f32>(o, load<f32>(src));
          store<f32>(o + 4, 0);
          src += step;
        }
      }
    }
  }
}

// ---------------------------------------------------------------- implicit im2col operands
// B can be an image instead of a matrix (conv.ts's weight gradient used this; it now builds im2col and packs
// it with packB's 4x4 transposes, measured faster): B_IM2COL_T reads
// op(B)[q, r] = x[c, iy, ix] for output position q = (oy,ox) and filter tap r = (c,i,j), zero in the padding. `x` points at channel 0 of the image block; `geom` is the convolution geometry (16 i32,
// see conv.ts). The packed panels are the same as packB's, so the arithmetic is too.
export const B_DENSE: i32 = 0;
export const B_IM2COL_T: i32 = 2;

// One run of `len` output positions (oy, ox..ox+len) of tap (c, i, j): writes x[c, iy, ix0 + t*sW] (0 outside
// the image) for t < len to dst + t*step bytes. The in-image part is found once, so the copy loop has no tests.
@inline function tapRun(x: usize, h: i32, w: i32, c: i32, iy: i32, ix0: i32, sW: i32, len: i32, dst: usize, step: usize): void {
  let lo = 0, hi = 0;
  if (iy >= 0 && iy < h) {
    if (sW == 1) { // no divisions in the common case
      lo = max<i32>(0, -ix0);
      hi = min<i32>(len, w - ix0);
    } else {
      lo = ix0 >= 0 ? 0 : (sW - 1 - ix0) / sW;
      hi = ix0 >= w ? 0 : min<i32>(len, (w - 1 - ix0) / sW + 1);
    }
    if (hi < 0) hi = 0;
    if (lo > hi) lo = hi;
  }
  for (let t = 0; t < lo; t++) store<f32>(dst + <usize>t * step, 0);
  if (hi > lo) {
    const row = x + (<usize>((c * h + iy) * w) << 2);
    if (sW == 1) {
      let src = row + (<usize>(ix0 + lo) << 2), d = dst + <usize>lo * step;
      for (let t = lo; t < hi; t++) { store<f32>(d, load<f32>(src)); src += 4; d += step; }
    } else {
      for (let t = lo; t < hi; t++) store<f32>(dst + <usize>t * step, load<f32>(row + (<usize>(ix0 + t * sW) << 2)));
    }
  }
  for (let t = hi; t < len; t++) store<f32>(dst + <usize>t * step, 0);
}

// B_IM2COL_T: rows p0..p0+kc are output positions, columns j0..j0+nc are taps.
function packBIm2colT(x: usize, geom: usize, p0: i32, kc: i32, j0: i32, nc: i32, dst: usize): void {
  const h = gi(geom, 2), w = gi(geom, 3), kh = gi(geom, 5), kw = gi(geom, 6);
  const sH = gi(geom, 7), sW = gi(geom, 8), pH = gi(geom, 9), pW = gi(geom, 10), dH = gi(geom, 11), dW = gi(geom, 12);
  const outW = gi(geom, 15), khkw = kh * kw;
  const oyStart = p0 / outW, oxStart = p0 % outW;
  for (let js = 0; js < nc; js += NR) {
    const wd = min<i32>(NR, nc - js);
    const d = dst + (<usize>(js * kc) << 2);
    const r0 = j0 + js;
    let c = r0 / khkw, rem = r0 % khkw, i = rem / kw, j = rem % kw;
    for (let jj = 0; jj < NR; jj++) {
      const o = d + (<usize>jj << 2);
      if (jj >= wd) {
        for (let p = 0; p < kc; p++) store<f32>(o + (<usize>p << 6), 0);
        continue;
      }
      // Positions p0..p0+kc of this tap, one output-row segment at a time, written with a stride of NR floats.
      const iyTap = i * dH - pH, ixTap = j * dW - pW;
      let p = 0, oy = oyStart, ox = oxStart;
      while (p < kc) {
        const len = min<i32>(outW - ox, kc - p);
        tapRun(x, h, w, c, oy * sH + iyTap, ox * sW + ixTap, sW, len, o + (<usize>p << 6), 64);
        p += len; ox = 0; oy++;
      }
      if (++j == kw) { j = 0; if (++i == kh) { i = 0; c++; } }
    }
  }
}

/**
 * Single-threaded GEMM on one sub-problem; `scratch` holds GEMM_SCRATCH floats.
 * a, b, c are byte addresses; lda/ldb/ldc are in floats.
 */
export function gemmST(
  transA: bool, transB: bool, m: i32, n: i32, k: i32,
  a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32, accumulate: bool, scratch: usize,
): void {
  gemmCore(transA, transB ? B_DENSE_T : B_DENSE, 0, m, n, k, a, lda, b, ldb, c, ldc, accumulate, scratch, 0, 0);
}

const B_DENSE_T: i32 = -1;

/**
 * GEMM whose B is an image read through a convolution's taps (B_IM2COL_T, see above), without
 * materializing the im2col matrix. op(B)'s rows start at row b0 and its columns at column j0 of the implicit matrix.
 */
export function gemmConvST(
  transA: bool, bMode: i32, geom: usize, m: i32, n: i32, k: i32,
  a: usize, lda: i32, x: usize, c: usize, ldc: i32, accumulate: bool, scratch: usize, b0: i32, j0: i32,
): void {
  gemmCore(transA, bMode, geom, m, n, k, a, lda, x, 0, c, ldc, accumulate, scratch, b0, j0);
}

/**
 * GEMM with A already in the whole-matrix packed layout (packedAIndex) and B (k x n, row-major, ldb floats per row)
 * read in place by the micro-kernels, without packing either: for the Winograd GEMMs, whose A is a transformed
 * filter bank packed once per call and whose B the input transform has just written (cheaper to stream from
 * there than to copy). B's rows must be readable up to n rounded up to 16 columns (the edge tiles read them; the
 * extra columns are never stored). Same arithmetic, so the same bits, as gemmST.
 */
export function gemmPackedAST(m: i32, n: i32, k: i32, a: usize, b: usize, ldb: i32, c: usize, ldc: i32, accumulate: bool, scratch: usize): void {
  gemmCore(false, B_IN_PLACE, 0, m, n, k, a, 0, b, ldb, c, ldc, accumulate, scratch, 0, 0, true);
}

/**
 * Float index of element (i, p) of an m x k matrix A in the whole-matrix packed layout gemmPackedAST reads: strips of
 * MR rows (the last one padded), each k x MR floats with the MR values of one p adjacent, as packA writes one block.
 * Floats of the whole layout: packedASize(m, k).
 */
@inline export function packedAIndex(i: i32, p: i32, k: i32): i32 {
  return (i & ~(MR - 1)) * k + p * MR + (i & (MR - 1));
}
export function packedASize(m: i32, k: i32): i32 {
  return ((m + MR - 1) & ~(MR - 1)) * k;
}

const B_IN_PLACE: i32 = -2;

function gemmCore(
  transA: bool, bMode: i32, geom: usize, m: i32, n: i32, k: i32,
  a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32, accumulate: bool, scratch: usize, b0: i32, j0: i32,
  aPacked: bool = false,
): void {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    if (!accumulate) for (let i = 0; i < m; i++) memory.fill(c + (<usize>(i * ldc) << 2), 0, <usize>n << 2);
    return;
  }
  const packedA = scratch;
  const packedB = scratch + (<usize>(MC * KC) << 2);
  const tile = packedB + (<usize>(KC * NC) << 2);
  for (let jc = 0; jc < n; jc += NC) {
    const nc = min<i32>(NC, n - jc);
    // k in equal blocks of at most KC (a multiple of 4): 784 as 4 x 196, not 3 x 256 + 16, whose last block
    // loads and stores every C tile for 16 steps. A block boundary only stores the f32 sum and loads it back, so
    // the blocking never changes a bit.
    const kBlocks = (k + KC - 1) / KC, kStep = ((k + kBlocks - 1) / kBlocks + 3) & ~3;
    for (let pc = 0; pc < k; pc += kStep) {
      const kc = min<i32>(kStep, k - pc);
      const loadC = accumulate || pc > 0;
      if (bMode == B_IM2COL_T) packBIm2colT(b, geom, b0 + pc, kc, j0 + jc, nc, packedB);
      else if (bMode != B_IN_PLACE) packB(bMode == B_DENSE_T, b, ldb, pc, kc, jc, nc, packedB);
      const bStep: usize = bMode == B_IN_PLACE ? <usize>ldb << 2 : 64;
      for (let ic = 0; ic < m; ic += MC) {
        const mc = min<i32>(MC, m - ic);
        if (!aPacked) packA(transA, a, lda, ic, mc, pc, kc, packedA);
        for (let jr = 0; jr < nc; jr += NR) {
          const w = min<i32>(NR, nc - jr);
          const bp = bMode == B_IN_PLACE ? b + (<usize>(pc * ldb + jc + jr) << 2) : packedB + (<usize>(jr * kc) << 2);
          for (let ir = 0; ir < mc; ir += MR) {
            const h = min<i32>(MR, mc - ir);
            const ap = aPacked ? a + (<usize>packedAIndex(ic + ir, pc, k) << 2) : packedA + (<usize>(ir * kc) << 2);
            const cp = c + (<usize>((ic + ir) * ldc + jc + jr) << 2);
            if (w == NR && h == MR) {
              kernel2x16(kc, ap, bp, bStep, cp, ldc, loadC);
            } else {
              // Edge tile: run the same kernel on a 2x16 copy so every element follows the same arithmetic.
              for (let ii = 0; ii < MR; ii++) {
                for (let jj = 0; jj < NR; jj++) {
                  const v: f32 = loadC && ii < h && jj < w ? load<f32>(cp + (<usize>(ii * ldc + jj) << 2)) : 0;
                  store<f32>(tile + (<usize>(ii * NR + jj) << 2), v);
                }
              }
              if (w <= 4) kernel2x4(kc, ap, bp, bStep, tile, NR);
              else if (w <= 8) kernel2x8(kc, ap, bp, bStep, tile, NR);
              else if (w <= 12) { kernel2x8(kc, ap, bp, bStep, tile, NR); kernel2x4(kc, ap, bp + 32, bStep, tile + 32, NR); }
              else kernel2x16(kc, ap, bp, bStep, tile, NR, true);
              for (let ii = 0; ii < h; ii++) {
                for (let jj = 0; jj < w; jj++) {
                  store<f32>(cp + (<usize>(ii * ldc + jj) << 2), load<f32>(tile + (<usize>(ii * NR + jj) << 2)));
                }
              }
            }
          }
        }
      }
    }
  }
}

/**
 * Share `tid` of `nt` of C: contiguous MR-aligned row strips, or NR-aligned column strips when there are more
 * column strips than row strips. `scratch` is the calling thread's own (GEMM_SCRATCH floats).
 */
export function gemm(
  transA: i32, transB: i32, m: i32, n: i32, k: i32,
  a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32, accumulate: i32,
  scratch: usize, tid: i32, nt: i32,
): void {
  const s = scratch;
  const rowStrips = (m + MR - 1) / MR, colStrips = (n + NR - 1) / NR;
  if (rowStrips >= colStrips) {
    const s0 = <i32>((<i64>rowStrips * tid) / nt), s1 = <i32>((<i64>rowStrips * (tid + 1)) / nt);
    const i0 = s0 * MR, i1 = min<i32>(m, s1 * MR);
    if (i1 <= i0) return;
    const aOff = transA ? a + (<usize>i0 << 2) : a + (<usize>(i0 * lda) << 2);
    gemmST(transA != 0, transB != 0, i1 - i0, n, k, aOff, lda, b, ldb, c + (<usize>(i0 * ldc) << 2), ldc, accumulate != 0, s);
  } else {
    const s0 = <i32>((<i64>colStrips * tid) / nt), s1 = <i32>((<i64>colStrips * (tid + 1)) / nt);
    const j0 = s0 * NR, j1 = min<i32>(n, s1 * NR);
    if (j1 <= j0) return;
    const bOff = transB ? b + (<usize>(j0 * ldb) << 2) : b + (<usize>j0 << 2);
    gemmST(transA != 0, transB != 0, m, j1 - j0, k, a, lda, bOff, ldb, c + (<usize>j0 << 2), ldc, accumulate != 0, s);
  }
}
