// Direct convolution kernels for layers with a small reduction (C/g*KH*KW up to a few tens: first layers of a
// CNN, depthwise convolutions). im2col + packed GEMM (conv.ts) spends most of its time packing when the reduction
// is this short; these kernels read the input straight from a zero-padded copy in per-thread scratch, so their
// inner loops have no bounds checks and no packing.
//
// The padded copy ("planes"): for each input channel of a group and each needed input row, the row is stored as
// sW phases: phase r holds padded columns r, r+sW, r+2sW, ... (phase r, index t = input column r + sW*t - pW, or 0
// in padding). A tap at column offset kx*dW = sW*q + r then reads output columns ox..ox+3 as ONE contiguous
// vector load at phase r, index ox+q, whatever the stride. Each phase is phaseLen floats, long enough for the
// last (padded) block of output columns, so loads never leave the scratch.
//
// Geometry (`geom`) is conv.ts's: n, cIn, h, w, cOut, kh, kw, strideH, strideW, padH, padW, dilationH,
// dilationW, groups, outH, outW. Kernels take (scratch, tid, nt) last like every other kernel.
// Determinism: every output element is reduced in one fixed order (forward: bias, then taps in (c, ky, kx)
// order; weight gradient: per lane over (oy, ox) in order, in f32 over ~128 positions then in f64, images summed
// in f64, lanes summed last), whichever block, tile or share computes it, so 1 and N threads give identical bits.
// No FMA.

import { addr, gi, part, zeroFloats } from './common';
import { maxPool2x2Row } from './pool';

@inline function roundUp(v: i32, m: i32): i32 { return (v + m - 1) / m * m; }
@inline function align64(p: usize): usize { return (p + 63) & ~(<usize>63); }
// ReLU exactly as asm/fused.ts's epilogue computes it (+0 where v <= 0, else v; NaN stays NaN), so a fused ReLU has
// the bits of the separate pass.
@inline function reluOf(v: v128): v128 { return v128.andnot(v, f32x4.le(v, f32x4.splat(0))); }
// The larger of a and b where a NaN in either wins (maxPool2d's rule); ties take b (equal bits but for -0/+0,
// which a ReLU output never holds).
@inline function maxKeepNaN(a: v128, b: v128): v128 { return v128.bitselect(a, b, v128.or(f32x4.gt(a, b), f32x4.ne(a, a))); }

/** Floats per phase of a padded row: the widest output block (16 columns) plus the farthest tap, rounded to 4. */
@inline function phaseLength(outW: i32, kw: i32, sW: i32, dW: i32): i32 {
  return roundUp(roundUp(outW, 16) + ((kw - 1) * dW) / sW, 4);
}

// Short runs: inline loops, cheaper than memory.copy/fill's call for tens of floats.
@inline function copyFloats(dst: usize, src: usize, len: i32): void {
  let t = 0;
  for (; t + 4 <= len; t += 4) v128.store(addr(dst, t), v128.load(addr(src, t)));
  for (; t < len; t++) store<f32>(addr(dst, t), load<f32>(addr(src, t)));
}

// Fills `rows` padded rows of nch channels: local row R of channel c is image row rowAbs0 + R - pH of src's
// channel c (zeros outside the image), laid out as sW phases of phaseLen floats; channel planes are planeStride
// floats apart.
function fillPlanes(src: usize, nch: i32, h: i32, w: i32, rowAbs0: i32, rows: i32, pH: i32, pW: i32, sW: i32,
  phaseLen: i32, planeStride: i32, dst: usize): void {
  const rowStride = sW * phaseLen;
  for (let c = 0; c < nch; c++) {
    const sc = addr(src, c * h * w), dc = addr(dst, c * planeStride);
    for (let r = 0; r < rows; r++) {
      const iy = rowAbs0 + r - pH, drow = addr(dc, r * rowStride);
      if (iy < 0 || iy >= h) { zeroFloats(drow, rowStride); continue; }
      const srow = addr(sc, iy * w);
      if (sW == 1) {
        // index t holds column t - pW: valid for t in [pW, pW + w)
        const lo = min<i32>(phaseLen, max<i32>(0, pW)), hi = max<i32>(lo, min<i32>(phaseLen, pW + w));
        zeroFloats(drow, lo);
        copyFloats(addr(drow, lo), addr(srow, lo - pW), hi - lo);
        zeroFloats(addr(drow, hi), phaseLen - hi);
      } else {
        let tMid = 0, tEnd = 0;
        if (sW == 2) {
          // Stride 2: both phases at once for the indices t whose 4 columns 2t - pW .. 2t - pW + 7 are all inside
          // the row (t in [tMid, tEnd)): 8 floats split into even and odd columns; the rest element by element.
          tMid = min<i32>(phaseLen, (pW + 1) >> 1);
          tEnd = tMid;
          const d0 = drow, d1 = addr(drow, phaseLen);
          for (; tEnd + 4 <= phaseLen && 2 * tEnd - pW + 8 <= w; tEnd += 4) {
            const src = addr(srow, 2 * tEnd - pW);
            const a = v128.load(src), b = v128.load(src, 16);
            v128.store(addr(d0, tEnd), i32x4.shuffle(a, b, 0, 2, 4, 6));
            v128.store(addr(d1, tEnd), i32x4.shuffle(a, b, 1, 3, 5, 7));
          }
        }
        for (let ph = 0; ph < sW; ph++) {
          const d = addr(drow, ph * phaseLen);
          for (let t = 0; t < phaseLen; t++) {
            if (t == tMid && tEnd > tMid) { t = tEnd - 1; continue; }
            const ix = ph + sW * t - pW;
            store<f32>(addr(d, t), ix >= 0 && ix < w ? load<f32>(addr(srow, ix)) : <f32>0);
          }
        }
      }
    }
  }
}

// Tap table: byte offset, inside the planes, of tap (c, ky, kx) (in that order) for output row 0, column 0.
function writeTaps(taps: usize, nch: i32, kh: i32, kw: i32, dH: i32, dW: i32, sW: i32, phaseLen: i32, planeStride: i32): void {
  let t = 0;
  for (let c = 0; c < nch; c++) {
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++) {
        const off = kx * dW, q = off / sW, ph = off % sW;
        store<i32>(taps + (<usize>t << 2), (c * planeStride + ky * dH * sW * phaseLen + ph * phaseLen + q) << 2);
        t++;
      }
    }
  }
}

// Weights of a block of B output channels are packed (tap, channel): the B weights of tap t are B consecutive floats
// at wts + 4*B*t, each broadcast to a vector by its load (v128.load32_splat: one load on x86 with AVX).

// Forward block of 4 output channels: `rows` output rows of outW columns, 8 columns (2 vectors) at a time, then
// 4 (the last, possibly partial, vector of an odd count).
// planes: the padded input for output row 0 of the block (rowStep floats per output row); wts: kk*4 packed
// weights; out: channel 0's first row, channels chStride floats apart.
function forwardBlock4(planes: usize, rowStep: i32, rows: i32, taps: usize, kk: i32, wts: usize,
  b0: f32, b1: f32, b2: f32, b3: f32, out: usize, chStride: i32, outW: i32, tmp: usize, relu: bool): void {
  const cs: usize = <usize>chStride << 2;
  for (let oy = 0; oy < rows; oy++) {
    const src = addr(planes, oy * rowStep), dst = addr(out, oy * outW);
    let ox = 0;
    for (; ox + 4 < outW; ox += 8) {
      let a00 = f32x4.splat(b0), a01 = a00, a10 = f32x4.splat(b1), a11 = a10;
      let a20 = f32x4.splat(b2), a21 = a20, a30 = f32x4.splat(b3), a31 = a30;
      const s = addr(src, ox);
      for (let t = 0; t < kk; t++) {
        const p = s + <usize>load<i32>(taps + (<usize>t << 2));
        const x0 = v128.load(p), x1 = v128.load(p, 16);
        const wp = wts + (<usize>t << 4);
        let wv = v128.load32_splat(wp);
        a00 = f32x4.add(a00, f32x4.mul(x0, wv)); a01 = f32x4.add(a01, f32x4.mul(x1, wv));
        wv = v128.load32_splat(wp, 4);
        a10 = f32x4.add(a10, f32x4.mul(x0, wv)); a11 = f32x4.add(a11, f32x4.mul(x1, wv));
        wv = v128.load32_splat(wp, 8);
        a20 = f32x4.add(a20, f32x4.mul(x0, wv)); a21 = f32x4.add(a21, f32x4.mul(x1, wv));
        wv = v128.load32_splat(wp, 12);
        a30 = f32x4.add(a30, f32x4.mul(x0, wv)); a31 = f32x4.add(a31, f32x4.mul(x1, wv));
      }
      if (relu) {
        a00 = reluOf(a00); a01 = reluOf(a01); a10 = reluOf(a10); a11 = reluOf(a11);
        a20 = reluOf(a20); a21 = reluOf(a21); a30 = reluOf(a30); a31 = reluOf(a31);
      }
      const full = ox + 8 <= outW;
      const d0 = full ? addr(dst, ox) : tmp;
      const ds: usize = full ? cs : 32;
      v128.store(d0, a00); v128.store(d0, a01, 16);
      v128.store(d0 + ds, a10); v128.store(d0 + ds, a11, 16);
      v128.store(d0 + 2 * ds, a20); v128.store(d0 + 2 * ds, a21, 16);
      v128.store(d0 + 3 * ds, a30); v128.store(d0 + 3 * ds, a31, 16);
      if (!full) {
        const len = outW - ox;
        for (let j = 0; j < 4; j++) copyFloats(addr(dst, j * chStride + ox), addr(tmp, j * 8), len);
      }
    }
    if (ox < outW) {
      let a0 = f32x4.splat(b0), a1 = f32x4.splat(b1), a2 = f32x4.splat(b2), a3 = f32x4.splat(b3);
      const s = addr(src, ox);
      for (let t = 0; t < kk; t++) {
        const x0 = v128.load(s + <usize>load<i32>(taps + (<usize>t << 2)));
        const wp = wts + (<usize>t << 4);
        a0 = f32x4.add(a0, f32x4.mul(x0, v128.load32_splat(wp)));
        a1 = f32x4.add(a1, f32x4.mul(x0, v128.load32_splat(wp, 4)));
        a2 = f32x4.add(a2, f32x4.mul(x0, v128.load32_splat(wp, 8)));
        a3 = f32x4.add(a3, f32x4.mul(x0, v128.load32_splat(wp, 12)));
      }
      if (relu) { a0 = reluOf(a0); a1 = reluOf(a1); a2 = reluOf(a2); a3 = reluOf(a3); }
      const full = ox + 4 <= outW;
      const d0 = full ? addr(dst, ox) : tmp;
      const ds: usize = full ? cs : 16;
      v128.store(d0, a0); v128.store(d0 + ds, a1); v128.store(d0 + 2 * ds, a2); v128.store(d0 + 3 * ds, a3);
      if (!full) {
        const len = outW - ox;
        for (let j = 0; j < 4; j++) copyFloats(addr(dst, j * chStride + ox), addr(tmp, j * 4), len);
      }
    }
  }
}

// Forward block of 2 output channels, 16 columns (4 vectors) at a time, then 8, then 4 (the last, possibly
// partial); otherwise as forwardBlock4 (wts: kk*2 packed weights).
function forwardBlock2(planes: usize, rowStep: i32, rows: i32, taps: usize, kk: i32, wts: usize,
  b0: f32, b1: f32, out: usize, chStride: i32, outW: i32, tmp: usize, relu: bool): void {
  const cs: usize = <usize>chStride << 2;
  for (let oy = 0; oy < rows; oy++) {
    const src = addr(planes, oy * rowStep), dst = addr(out, oy * outW);
    let ox = 0;
    for (; ox + 12 < outW; ox += 16) {
      let a00 = f32x4.splat(b0), a01 = a00, a02 = a00, a03 = a00;
      let a10 = f32x4.splat(b1), a11 = a10, a12 = a10, a13 = a10;
      const s = addr(src, ox);
      for (let t = 0; t < kk; t++) {
        const p = s + <usize>load<i32>(taps + (<usize>t << 2));
        const wp = wts + (<usize>t << 3);
        const w0 = v128.load32_splat(wp), w1 = v128.load32_splat(wp, 4);
        let xv = v128.load(p);
        a00 = f32x4.add(a00, f32x4.mul(xv, w0)); a10 = f32x4.add(a10, f32x4.mul(xv, w1));
        xv = v128.load(p, 16);
        a01 = f32x4.add(a01, f32x4.mul(xv, w0)); a11 = f32x4.add(a11, f32x4.mul(xv, w1));
        xv = v128.load(p, 32);
        a02 = f32x4.add(a02, f32x4.mul(xv, w0)); a12 = f32x4.add(a12, f32x4.mul(xv, w1));
        xv = v128.load(p, 48);
        a03 = f32x4.add(a03, f32x4.mul(xv, w0)); a13 = f32x4.add(a13, f32x4.mul(xv, w1));
      }
      if (relu) {
        a00 = reluOf(a00); a01 = reluOf(a01); a02 = reluOf(a02); a03 = reluOf(a03);
        a10 = reluOf(a10); a11 = reluOf(a11); a12 = reluOf(a12); a13 = reluOf(a13);
      }
      const full = ox + 16 <= outW;
      const d0 = full ? addr(dst, ox) : tmp;
      const ds: usize = full ? cs : 64;
      v128.store(d0, a00); v128.store(d0, a01, 16); v128.store(d0, a02, 32); v128.store(d0, a03, 48);
      v128.store(d0 + ds, a10); v128.store(d0 + ds, a11, 16); v128.store(d0 + ds, a12, 32); v128.store(d0 + ds, a13, 48);
      if (!full) {
        const len = outW - ox;
        for (let j = 0; j < 2; j++) copyFloats(addr(dst, j * chStride + ox), addr(tmp, j * 16), len);
      }
    }
    for (; ox < outW; ox += 4) {
      let a0 = f32x4.splat(b0), a1 = f32x4.splat(b1);
      const s = addr(src, ox);
      for (let t = 0; t < kk; t++) {
        const x0 = v128.load(s + <usize>load<i32>(taps + (<usize>t << 2)));
        const wp = wts + (<usize>t << 3);
        a0 = f32x4.add(a0, f32x4.mul(x0, v128.load32_splat(wp)));
        a1 = f32x4.add(a1, f32x4.mul(x0, v128.load32_splat(wp, 4)));
      }
      if (relu) { a0 = reluOf(a0); a1 = reluOf(a1); }
      if (ox + 4 <= outW) {
        v128.store(addr(dst, ox), a0); v128.store(addr(dst, ox) + cs, a1);
      } else {
        v128.store(tmp, a0); v128.store(tmp, a1, 16);
        copyFloats(addr(dst, ox), tmp, outW - ox);
        copyFloats(addr(dst, chStride + ox), addr(tmp, 4), outW - ox);
      }
    }
  }
}

// Forward block of 1 output channel, 16 columns (4 vectors) at a time, then single vectors; otherwise as
// forwardBlock4 (wts: kk weights).
function forwardBlock1(planes: usize, rowStep: i32, rows: i32, taps: usize, kk: i32, wts: usize,
  b0: f32, out: usize, outW: i32, tmp: usize, relu: bool): void {
  for (let oy = 0; oy < rows; oy++) {
    const src = addr(planes, oy * rowStep), dst = addr(out, oy * outW);
    let ox = 0;
    for (; ox + 12 < outW; ox += 16) {
      let a0 = f32x4.splat(b0), a1 = a0, a2 = a0, a3 = a0;
      const s = addr(src, ox);
      for (let t = 0; t < kk; t++) {
        const p = s + <usize>load<i32>(taps + (<usize>t << 2));
        const wv = v128.load32_splat(wts + (<usize>t << 2));
        a0 = f32x4.add(a0, f32x4.mul(v128.load(p), wv));
        a1 = f32x4.add(a1, f32x4.mul(v128.load(p, 16), wv));
        a2 = f32x4.add(a2, f32x4.mul(v128.load(p, 32), wv));
        a3 = f32x4.add(a3, f32x4.mul(v128.load(p, 48), wv));
      }
      if (relu) { a0 = reluOf(a0); a1 = reluOf(a1); a2 = reluOf(a2); a3 = reluOf(a3); }
      const full = ox + 16 <= outW;
      const d0 = full ? addr(dst, ox) : tmp;
      v128.store(d0, a0); v128.store(d0, a1, 16); v128.store(d0, a2, 32); v128.store(d0, a3, 48);
      if (!full) copyFloats(addr(dst, ox), tmp, outW - ox);
    }
    for (; ox < outW; ox += 4) {
      let a0 = f32x4.splat(b0);
      const s = addr(src, ox);
      for (let t = 0; t < kk; t++) {
        a0 = f32x4.add(a0, f32x4.mul(v128.load(s + <usize>load<i32>(taps + (<usize>t << 2))), v128.load32_splat(wts + (<usize>t << 2))));
      }
      if (relu) a0 = reluOf(a0);
      if (ox + 4 <= outW) v128.store(addr(dst, ox), a0);
      else { v128.store(tmp, a0); copyFloats(addr(dst, ox), tmp, outW - ox); }
    }
  }
}

// Forward block of 8 output channels x 4 output pixels, vectors across channels rather than columns: for rows
// narrower than a multiple of 4 (LeNet-5's 10-pixel conv2 rows), where column vectors compute up to 3 unused
// columns per row. Pixels are taken 4 at a time in row-major order over the block's rows (a group may span two
// rows; the last group repeats its last pixel and stores it once). Each output element is still the bias plus the
// taps in order, so the bits equal the column kernels'. wts: kk*8 packed weights; bias8: 8 biases or 0; out:
// channel 0's first row, channels chStride floats apart, rows outW floats apart.
function forwardPixels8(planes: usize, rowStep: i32, rows: i32, taps: usize, kk: i32, wts: usize,
  bias8: usize, out: usize, chStride: i32, outW: i32, relu: bool): void {
  const npix = rows * outW;
  const bLo = bias8 != 0 ? v128.load(bias8) : f32x4.splat(0), bHi = bias8 != 0 ? v128.load(bias8, 16) : f32x4.splat(0);
  // The row and column of pixel q, stepped without divisions.
  let oy = 0, ox = 0;
  for (let q = 0; q < npix; q += 4) {
    const s0 = addr(planes, oy * rowStep + ox);
    if (++ox == outW) { ox = 0; oy++; }
    const s1 = q + 1 < npix ? addr(planes, oy * rowStep + ox) : s0;
    if (++ox == outW) { ox = 0; oy++; }
    const s2 = q + 2 < npix ? addr(planes, oy * rowStep + ox) : s1;
    if (++ox == outW) { ox = 0; oy++; }
    const s3 = q + 3 < npix ? addr(planes, oy * rowStep + ox) : s2;
    if (++ox == outW) { ox = 0; oy++; }
    let a0l = bLo, a0h = bHi, a1l = bLo, a1h = bHi, a2l = bLo, a2h = bHi, a3l = bLo, a3h = bHi;
    for (let t = 0; t < kk; t++) {
      const off = <usize>load<i32>(taps + (<usize>t << 2)), wp = wts + (<usize>t << 5);
      const wl = v128.load(wp), wh = v128.load(wp, 16);
      let xv = v128.load32_splat(s0 + off);
      a0l = f32x4.add(a0l, f32x4.mul(xv, wl)); a0h = f32x4.add(a0h, f32x4.mul(xv, wh));
      xv = v128.load32_splat(s1 + off);
      a1l = f32x4.add(a1l, f32x4.mul(xv, wl)); a1h = f32x4.add(a1h, f32x4.mul(xv, wh));
      xv = v128.load32_splat(s2 + off);
      a2l = f32x4.add(a2l, f32x4.mul(xv, wl)); a2h = f32x4.add(a2h, f32x4.mul(xv, wh));
      xv = v128.load32_splat(s3 + off);
      a3l = f32x4.add(a3l, f32x4.mul(xv, wl)); a3h = f32x4.add(a3h, f32x4.mul(xv, wh));
    }
    if (relu) {
      a0l = reluOf(a0l); a0h = reluOf(a0h); a1l = reluOf(a1l); a1h = reluOf(a1h);
      a2l = reluOf(a2l); a2h = reluOf(a2h); a3l = reluOf(a3l); a3h = reluOf(a3h);
    }
    storeChannels8(out, chStride, q, a0l, a0h);
    if (q + 1 < npix) storeChannels8(out, chStride, q + 1, a1l, a1h);
    if (q + 2 < npix) storeChannels8(out, chStride, q + 2, a2l, a2h);
    if (q + 3 < npix) storeChannels8(out, chStride, q + 3, a3l, a3h);
  }
}

// Pixel q of 8 channels (lo: channels 0-3, hi: 4-7), one float per channel plane.
@inline function storeChannels8(out: usize, chStride: i32, q: i32, lo: v128, hi: v128): void {
  const p = addr(out, q), cs: usize = <usize>chStride << 2;
  v128.store32_lane(p, lo, 0); v128.store32_lane(p + cs, lo, 1); v128.store32_lane(p + 2 * cs, lo, 2); v128.store32_lane(p + 3 * cs, lo, 3);
  const p4 = p + 4 * cs;
  v128.store32_lane(p4, hi, 0); v128.store32_lane(p4 + cs, hi, 1); v128.store32_lane(p4 + 2 * cs, hi, 2); v128.store32_lane(p4 + 3 * cs, hi, 3);
}

// Packs the weights of output channels o0..o0+nb-1 (rows of kk floats at w) as (tap, channel) at dst.
function packWeights(w: usize, kk: i32, o0: i32, nb: i32, dst: usize): void {
  for (let t = 0; t < kk; t++) {
    for (let j = 0; j < nb; j++) store<f32>(addr(dst, t * nb + j), load<f32>(addr(w, (o0 + j) * kk + t)));
  }
}

/**
 * Scratch bytes per thread of directConv2dForward with `epilogue` (the host allocates this; keep in step with the
 * layout below): with pooling, room for 4 channels of conv output before they are pooled.
 */
export function directForwardScratch(geom: usize, epilogue: i32): i32 {
  const cg = gi(geom, 1) / gi(geom, 13), og = gi(geom, 4) / gi(geom, 13), kh = gi(geom, 5), kw = gi(geom, 6), sH = gi(geom, 7), sW = gi(geom, 8);
  const dH = gi(geom, 11), dW = gi(geom, 12), outH = gi(geom, 14), outW = gi(geom, 15);
  const phaseLen = phaseLength(outW, kw, sW, dW), rowsFull = (outH - 1) * sH + (kh - 1) * dH + 1;
  const kk = cg * kh * kw;
  const pooled = (epilogue & EPILOGUE_MAXPOOL2X2) != 0 ? 8 * outH * outW * 4 + 64 : 0;
  return (cg * rowsFull * sW * phaseLen) * 4 + 64 + og * kk * 4 + 64 + kk * 4 + 64 + 256 + 64 + pooled;
}

/** Epilogue bits of directConv2dForward: ReLU on the output (after the bias), then 2x2/2 max pooling (floor mode). */
const EPILOGUE_RELU = 1, EPILOGUE_MAXPOOL2X2 = 2;

// Pools `nch` planes of `rows` conv rows (outW floats each, planes rows*outW apart) at src into out's planes
// (chStride floats apart) from pooled row py0 on. After a ReLU no value is -0, so the max of the four candidates
// (a NaN winning, as in maxPool2d) is exactly what maxPool2d's ordered comparisons select.
function poolRows(src: usize, nch: i32, rows: i32, outW: i32, out: usize, chStride: i32, poolW: i32, afterRelu: bool): void {
  for (let j = 0; j < nch; j++) {
    for (let py = 0; py < rows >> 1; py++) {
      const r0 = addr(src, (j * rows + 2 * py) * outW), dst = addr(out, j * chStride + py * poolW);
      if (!afterRelu) { maxPool2x2Row(r0, outW, dst, poolW, addr(src, nch * rows * outW + 16)); continue; }
      // The last, partial vector reads up to 6 floats past the row pair (still inside the scratch, which has slack
      // after the planes) and stores only its valid lanes.
      const r1 = addr(r0, outW);
      for (let px = 0; px < poolW; px += 4) {
        const ma = maxKeepNaN(v128.load(addr(r0, 2 * px)), v128.load(addr(r1, 2 * px)));
        const mb = maxKeepNaN(v128.load(addr(r0, 2 * px + 4)), v128.load(addr(r1, 2 * px + 4)));
        const m = maxKeepNaN(i32x4.shuffle(ma, mb, 0, 2, 4, 6), i32x4.shuffle(ma, mb, 1, 3, 5, 7));
        const left = poolW - px, d = addr(dst, px);
        if (left >= 4) v128.store(d, m);
        else if (left == 3) { v128.store64_lane(d, m, 0); v128.store32_lane(d, m, 2, 8); }
        else if (left == 2) v128.store64_lane(d, m, 0);
        else v128.store32_lane(d, m, 0);
      }
    }
  }
}

// x is (N,C,H,W), w is (O,C/g,KH,KW), bias is (O) or 0, out is (N,O,OH,OW), or (N,O,OH/2,OW/2) (rounded down) with
// EPILOGUE_MAXPOOL2X2: then the convolution's output rows are computed in pairs, up to 4 channels at a time into
// scratch, and pooled from there while in cache (the same values as a separate maxPool2d).
// Output channels go 8 at a time by forwardPixels8 when rows are not a multiple of 4 wide and the group has a
// multiple of 8 channels; otherwise 4, then 2, then 1 at a time by the column kernels.
// Work items: (image, group, output-row chunk); row chunks (of pooled rows when pooling) only when there are fewer
// (image, group) units than shares. Each item pads the input rows it needs, then computes its output channels 4 at
// a time, then 2, then 1. The group's weights are packed once per group change.
export function directConv2dForward(x: usize, w: usize, bias: usize, geom: usize, epilogue: i32, out: usize,
  scratch: usize, tid: i32, nt: i32): void {
  const n = gi(geom, 0), cIn = gi(geom, 1), h = gi(geom, 2), wd = gi(geom, 3), cOut = gi(geom, 4);
  const kh = gi(geom, 5), kw = gi(geom, 6), sH = gi(geom, 7), sW = gi(geom, 8), pH = gi(geom, 9), pW = gi(geom, 10);
  const dH = gi(geom, 11), dW = gi(geom, 12), groups = gi(geom, 13), outH = gi(geom, 14), outW = gi(geom, 15);
  const cg = cIn / groups, og = cOut / groups, kk = cg * kh * kw;
  const relu = (epilogue & EPILOGUE_RELU) != 0, pool = (epilogue & EPILOGUE_MAXPOOL2X2) != 0;
  const poolH = outH >> 1, poolW = outW >> 1;
  const phaseLen = phaseLength(outW, kw, sW, dW), rowStride = sW * phaseLen;
  const rowsFull = (outH - 1) * sH + (kh - 1) * dH + 1, planeStride = rowsFull * rowStride;
  const planes = scratch, wts = align64(addr(planes, cg * planeStride)), taps = align64(addr(wts, og * kk));
  const tmp = align64(taps + (<usize>kk << 2)), conv4 = align64(tmp + 256);
  writeTaps(taps, cg, kh, kw, dH, dW, sW, phaseLen, planeStride);
  const units = n * groups, rowUnits = pool ? poolH : outH;
  const chunks = units >= nt ? 1 : min<i32>(rowUnits, (nt + units - 1) / units);
  const items = units * chunks, it0 = part(items, tid, nt), it1 = part(items, tid + 1, nt);
  const rowStep = sH * rowStride;
  let packedGroup = -1;
  // Rows that are not a multiple of 4 wide waste part of every column vector: vectors across 8 channels instead.
  const pixelBlocks = og % 8 == 0 && outW % 4 != 0;
  for (let it = it0; it < it1; it++) {
    const unit = it / chunks, ch = it % chunks, b = unit / groups, grp = unit % groups;
    const r0 = part(rowUnits, ch, chunks), r1 = part(rowUnits, ch + 1, chunks);
    if (r1 <= r0) continue;
    const oy0 = pool ? 2 * r0 : r0, rows = pool ? 2 * (r1 - r0) : r1 - r0;
    fillPlanes(addr(x, (b * cIn + grp * cg) * h * wd), cg, h, wd, oy0 * sH, (rows - 1) * sH + (kh - 1) * dH + 1,
      pH, pW, sW, phaseLen, planeStride, planes);
    if (grp != packedGroup) {
      // Blocks of 8 (pixel blocks), or of 4, then 2, then 1 channel, each (tap, channel), one after another.
      const wg = addr(w, grp * og * kk);
      let o = 0;
      if (pixelBlocks) for (; o < og; o += 8) packWeights(wg, kk, o, 8, addr(wts, o * kk));
      for (; o + 4 <= og; o += 4) packWeights(wg, kk, o, 4, addr(wts, o * kk));
      for (; o + 2 <= og; o += 2) packWeights(wg, kk, o, 2, addr(wts, o * kk));
      for (; o < og; o++) packWeights(wg, kk, o, 1, addr(wts, o * kk));
      packedGroup = grp;
    }
    let o = 0;
    while (o < og) {
      if (pixelBlocks) {
        const bo = grp * og + o;
        const dst = pool ? conv4 : addr(out, ((b * cOut + bo) * outH + oy0) * outW);
        forwardPixels8(planes, rowStep, rows, taps, kk, addr(wts, o * kk), bias != 0 ? addr(bias, bo) : 0, dst,
          pool ? rows * outW : outH * outW, outW, relu);
        if (pool) poolRows(conv4, 8, rows, outW, addr(out, ((b * cOut + bo) * poolH + r0) * poolW), poolH * poolW, poolW, relu);
        o += 8;
        continue;
      }
      const nb = o + 4 <= og ? 4 : o + 2 <= og ? 2 : 1, bo = grp * og + o, wb = addr(wts, o * kk);
      const b0: f32 = bias != 0 ? load<f32>(addr(bias, bo)) : 0;
      const b1: f32 = bias != 0 && nb > 1 ? load<f32>(addr(bias, bo + 1)) : 0;
      const b2: f32 = bias != 0 && nb > 2 ? load<f32>(addr(bias, bo + 2)) : 0;
      const b3: f32 = bias != 0 && nb > 3 ? load<f32>(addr(bias, bo + 3)) : 0;
      // Without pooling straight into out; with it into scratch (rows*outW floats per channel), then pooled.
      const dst = pool ? conv4 : addr(out, ((b * cOut + bo) * outH + oy0) * outW);
      const chStride = pool ? rows * outW : outH * outW;
      if (nb == 4) forwardBlock4(planes, rowStep, rows, taps, kk, wb, b0, b1, b2, b3, dst, chStride, outW, tmp, relu);
      else if (nb == 2) forwardBlock2(planes, rowStep, rows, taps, kk, wb, b0, b1, dst, chStride, outW, tmp, relu);
      else forwardBlock1(planes, rowStep, rows, taps, kk, wb, b0, dst, outW, tmp, relu);
      if (pool) poolRows(conv4, nb, rows, outW, addr(out, ((b * cOut + bo) * poolH + r0) * poolW), poolH * poolW, poolW, relu);
      o += nb;
    }
  }
}

// ---------------------------------------------------------------- weight gradient

// Lanes < tail set, the others clear (the last, partial vector of a row).
@inline function tailMask(tail: i32): v128 {
  return i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(tail));
}

/**
 * Rows of output positions per f32 partial sum of the weight gradient: about 128 positions (32 per lane), then
 * promoted and added in f64. A gradient that nearly cancels over many positions (as after batch norm) keeps its
 * accuracy; a whole 28x28 image per f32 partial measurably drifted a 20-step training trajectory from PyTorch's.
 */
@inline function flushRows(outW: i32): i32 { return max<i32>(1, 128 / outW); }

// d (2 f64x2: lanes 0-1, 2-3) += the lanes of v.
@inline function addLanes(d: usize, v: v128): void {
  v128.store(d, f64x2.add(v128.load(d), f64x2.promote_low_f32x4(v)));
  v128.store(d, f64x2.add(v128.load(d, 16), f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1))), 16);
}
@inline function zeroLanes(d: usize): void {
  v128.store(d, f64x2.splat(0)); v128.store(d, f64x2.splat(0), 16);
}

// One image's contribution to a tile of 2 output channels x 4 taps, per lane (lane l sums the columns ox = l mod
// 4, over rows then columns in order, in f32 over flushRows rows, then in f64). gy0: channel 0's gy plane, with
// rows of gyRow (outW rounded up to 4) floats, zeros after outW; channel 1 is gyPlane floats after.
// res: 8 cells of 4 f64 lanes (32 bytes), (channel, tap) order, channel rows resStride bytes apart; overwritten.
function wgradTile2x4(planes: usize, rowStep: i32, taps: usize, gy0: usize, gyPlane: i32, gyRow: i32, outH: i32, outW: i32,
  res: usize, resStride: usize): void {
  const t0 = <usize>load<i32>(taps), t1 = <usize>load<i32>(taps, 4), t2 = <usize>load<i32>(taps, 8), t3 = <usize>load<i32>(taps, 12);
  const full = outW & ~3, tail = outW - full, mask = tailMask(tail), step = flushRows(outW);
  const r1 = res + resStride;
  for (let k: usize = 0; k < 4; k++) { zeroLanes(res + (k << 5)); zeroLanes(r1 + (k << 5)); }
  for (let oyStart = 0; oyStart < outH; oyStart += step) {
    const oyEnd = min<i32>(outH, oyStart + step);
    let a00 = f32x4.splat(0), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00;
    for (let oy = oyStart; oy < oyEnd; oy++) {
      const xr = addr(planes, oy * rowStep), g0 = addr(gy0, oy * gyRow), g1 = addr(g0, gyPlane);
      for (let ox = 0; ox <= outW - 4; ox += 4) {
        const gv0 = v128.load(addr(g0, ox)), gv1 = v128.load(addr(g1, ox)), xs = addr(xr, ox);
        let xv = v128.load(xs + t0);
        a00 = f32x4.add(a00, f32x4.mul(xv, gv0)); a10 = f32x4.add(a10, f32x4.mul(xv, gv1));
        xv = v128.load(xs + t1);
        a01 = f32x4.add(a01, f32x4.mul(xv, gv0)); a11 = f32x4.add(a11, f32x4.mul(xv, gv1));
        xv = v128.load(xs + t2);
        a02 = f32x4.add(a02, f32x4.mul(xv, gv0)); a12 = f32x4.add(a12, f32x4.mul(xv, gv1));
        xv = v128.load(xs + t3);
        a03 = f32x4.add(a03, f32x4.mul(xv, gv0)); a13 = f32x4.add(a13, f32x4.mul(xv, gv1));
      }
      if (tail != 0) {
        // gy's copy is 0 past outW, and x is masked so that those columns contribute exactly 0 even where x holds
        // inf (an input column this tap never reads).
        const gv0 = v128.load(addr(g0, full)), gv1 = v128.load(addr(g1, full)), xs = addr(xr, full);
        let xv = v128.and(v128.load(xs + t0), mask);
        a00 = f32x4.add(a00, f32x4.mul(xv, gv0)); a10 = f32x4.add(a10, f32x4.mul(xv, gv1));
        xv = v128.and(v128.load(xs + t1), mask);
        a01 = f32x4.add(a01, f32x4.mul(xv, gv0)); a11 = f32x4.add(a11, f32x4.mul(xv, gv1));
        xv = v128.and(v128.load(xs + t2), mask);
        a02 = f32x4.add(a02, f32x4.mul(xv, gv0)); a12 = f32x4.add(a12, f32x4.mul(xv, gv1));
        xv = v128.and(v128.load(xs + t3), mask);
        a03 = f32x4.add(a03, f32x4.mul(xv, gv0)); a13 = f32x4.add(a13, f32x4.mul(xv, gv1));
      }
    }
    addLanes(res, a00); addLanes(res + 32, a01); addLanes(res + 64, a02); addLanes(res + 96, a03);
    addLanes(r1, a10); addLanes(r1 + 32, a11); addLanes(r1 + 64, a12); addLanes(r1 + 96, a13);
  }
}

// As wgradTile2x4 for a single output channel (depthwise layers with multiplier 1).
function wgradTile1x4(planes: usize, rowStep: i32, taps: usize, gy0: usize, gyRow: i32, outH: i32, outW: i32, res: usize): void {
  const t0 = <usize>load<i32>(taps), t1 = <usize>load<i32>(taps, 4), t2 = <usize>load<i32>(taps, 8), t3 = <usize>load<i32>(taps, 12);
  const full = outW & ~3, tail = outW - full, mask = tailMask(tail), step = flushRows(outW);
  for (let k: usize = 0; k < 4; k++) zeroLanes(res + (k << 5));
  for (let oyStart = 0; oyStart < outH; oyStart += step) {
    const oyEnd = min<i32>(outH, oyStart + step);
    let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
    for (let oy = oyStart; oy < oyEnd; oy++) {
      const xr = addr(planes, oy * rowStep), g0 = addr(gy0, oy * gyRow);
      for (let ox = 0; ox <= outW - 4; ox += 4) {
        const gv = v128.load(addr(g0, ox)), xs = addr(xr, ox);
        a0 = f32x4.add(a0, f32x4.mul(v128.load(xs + t0), gv));
        a1 = f32x4.add(a1, f32x4.mul(v128.load(xs + t1), gv));
        a2 = f32x4.add(a2, f32x4.mul(v128.load(xs + t2), gv));
        a3 = f32x4.add(a3, f32x4.mul(v128.load(xs + t3), gv));
      }
      if (tail != 0) {
        const gv = v128.load(addr(g0, full)), xs = addr(xr, full);
        a0 = f32x4.add(a0, f32x4.mul(v128.and(v128.load(xs + t0), mask), gv));
        a1 = f32x4.add(a1, f32x4.mul(v128.and(v128.load(xs + t1), mask), gv));
        a2 = f32x4.add(a2, f32x4.mul(v128.and(v128.load(xs + t2), mask), gv));
        a3 = f32x4.add(a3, f32x4.mul(v128.and(v128.load(xs + t3), mask), gv));
      }
    }
    addLanes(res, a0); addLanes(res + 32, a1); addLanes(res + 64, a2); addLanes(res + 96, a3);
  }
}

/** Scratch bytes per thread of directConv2dBackwardWeight (keep in step with its layout). */
export function directWeightGradScratch(geom: usize): i32 {
  const cg = gi(geom, 1) / gi(geom, 13), og = gi(geom, 4) / gi(geom, 13), kh = gi(geom, 5), kw = gi(geom, 6);
  const sH = gi(geom, 7), sW = gi(geom, 8), dH = gi(geom, 11), dW = gi(geom, 12), outH = gi(geom, 14), outW = gi(geom, 15);
  const phaseLen = phaseLength(outW, kw, sW, dW), rowsFull = (outH - 1) * sH + (kh - 1) * dH + 1;
  const kk = cg * kh * kw;
  return (cg * rowsFull * sW * phaseLen) * 4 + 64 + kk * 4 + 64 + og * kk * 32 + 64 + og * kk * 32 + 64 + og * outH * roundUp(outW, 4) * 4 + 64;
}

/**
 * Image groups of the direct weight gradient: the images are cut into this many consecutive ranges (or one per
 * image when there are fewer), each summed into its own f64 accumulator by its work items and added in order by
 * directWeightGradFinish. A fixed number, not one per thread, so the bits never depend on the thread count. Before,
 * threads split only the channels and taps, and every share padded every image again: with 2 threads the padding
 * (fillPlanes) took 1.3x its 1-thread time instead of half.
 */
const WEIGHT_GRAD_IMAGE_GROUPS: i32 = 4;

/** How many image groups directConv2dBackwardWeight uses for n images (the host sizes the accumulators from it). */
export function directWeightGradImageGroups(n: i32): i32 {
  return min<i32>(n, WEIGHT_GRAD_IMAGE_GROUPS);
}

// x is (N,C,H,W), gy is (N,O,OH,OW); needs C/g*KH*KW >= 4. acc holds imageGroups (directWeightGradImageGroups)
// blocks of O x C/g*KH*KW cells of 4 f64 lanes, overwritten: cell (o, tap) of block q is the sum over image group q's
// images (in order, f64) of the image's per-lane sums over (oy, ox) (f32 over flushRows rows, then f64);
// directWeightGradFinish adds the blocks in order and then the lanes. Work items: (image group, group, output-channel
// chunk, tap chunk), chunks only when there are fewer image groups x groups than shares; chunks hold >= 2 channels
// (when O/g >= 2) and >= 4 taps so tiles fit (the last tile of a chunk overlaps the previous one: it recomputes
// identical values rather than needing narrower tile code).
export function directConv2dBackwardWeight(x: usize, gy: usize, geom: usize, acc: usize, imageGroups: i32,
  scratch: usize, tid: i32, nt: i32): void {
  const n = gi(geom, 0), cIn = gi(geom, 1), h = gi(geom, 2), wd = gi(geom, 3), cOut = gi(geom, 4);
  const kh = gi(geom, 5), kw = gi(geom, 6), sH = gi(geom, 7), sW = gi(geom, 8), pH = gi(geom, 9), pW = gi(geom, 10);
  const dH = gi(geom, 11), dW = gi(geom, 12), groups = gi(geom, 13), outH = gi(geom, 14), outW = gi(geom, 15);
  const cg = cIn / groups, og = cOut / groups, kk = cg * kh * kw, p = outH * outW;
  const phaseLen = phaseLength(outW, kw, sW, dW), rowStride = sW * phaseLen;
  const rowsFull = (outH - 1) * sH + (kh - 1) * dH + 1, planeStride = rowsFull * rowStride;
  const planes = scratch, taps = align64(addr(planes, cg * planeStride));
  const res = align64(taps + (<usize>kk << 2)), sums = align64(res + (<usize>(og * kk) << 5));
  const gyPad = align64(sums + (<usize>(og * kk) << 5)), gyRow = roundUp(outW, 4), gyPlane = outH * gyRow;
  writeTaps(taps, cg, kh, kw, dH, dW, sW, phaseLen, planeStride);
  const outer = imageGroups * groups, need = outer >= nt ? 1 : (nt + outer - 1) / outer;
  const oChunks = min<i32>(og >= 2 ? og / 2 : 1, need);
  const tChunks = min<i32>(kk / 4, (need + oChunks - 1) / oChunks);
  const items = outer * oChunks * tChunks, it0 = part(items, tid, nt), it1 = part(items, tid + 1, nt);
  for (let it = it0; it < it1; it++) {
    const ig = it / (groups * oChunks * tChunks), grp = (it / (oChunks * tChunks)) % groups;
    const oc = (it / tChunks) % oChunks, tc = it % tChunks;
    const o0 = part(og, oc, oChunks), no = part(og, oc + 1, oChunks) - o0;
    const t0 = part(kk, tc, tChunks), nk = part(kk, tc + 1, tChunks) - t0;
    const cells = no * nk;
    for (let e = 0; e < cells; e++) { v128.store(sums + (<usize>e << 5), f64x2.splat(0)); v128.store(sums + (<usize>e << 5), f64x2.splat(0), 16); }
    const resStride = <usize>nk << 5;
    for (let b = part(n, ig, imageGroups); b < part(n, ig + 1, imageGroups); b++) {
      fillPlanes(addr(x, (b * cIn + grp * cg) * h * wd), cg, h, wd, 0, rowsFull, pH, pW, sW, phaseLen, planeStride, planes);
      // This image's gy for the item's channels, read in place when rows are a multiple of 4 wide, else copied
      // with rows padded with zeros to a multiple of 4 (full-vector loads that never pass the tensor's end).
      const gyImage = addr(gy, (b * cOut + grp * og + o0) * p);
      let gyRows = gyPad;
      if (gyRow == outW) gyRows = gyImage;
      else {
        for (let r = 0; r < no * outH; r++) {
          const d = addr(gyPad, r * gyRow);
          v128.store(addr(d, gyRow - 4), f32x4.splat(0));
          copyFloats(d, addr(gyImage, r * outW), outW);
        }
      }
      for (let ot = 0; ot < no; ot += 2) {
        const o = no >= 2 ? min<i32>(ot, no - 2) : 0;
        for (let tt = 0; tt < nk; tt += 4) {
          const t = min<i32>(tt, nk - 4);
          const r = res + <usize>o * resStride + (<usize>t << 5), tp = taps + (<usize>(t0 + t) << 2);
          if (no >= 2) wgradTile2x4(planes, sH * rowStride, tp, addr(gyRows, o * gyPlane), gyPlane, gyRow, outH, outW, r, resStride);
          else wgradTile1x4(planes, sH * rowStride, tp, gyRows, gyRow, outH, outW, r);
        }
      }
      for (let e = 0; e < cells; e++) {
        const v = res + (<usize>e << 5), d = sums + (<usize>e << 5);
        v128.store(d, f64x2.add(v128.load(d), v128.load(v)));
        v128.store(d, f64x2.add(v128.load(d, 16), v128.load(v, 16)), 16);
      }
    }
    for (let oi = 0; oi < no; oi++) {
      const dst = acc + (<usize>((ig * cOut + grp * og + o0 + oi) * kk + t0) << 5);
      for (let ti = 0; ti < nk; ti++) {
        const d = sums + (<usize>(oi * nk + ti) << 5), e = dst + (<usize>ti << 5);
        v128.store(e, v128.load(d));
        v128.store(e, v128.load(d, 16), 16);
      }
    }
  }
}

// gw (O,C/g,KH,KW) from directConv2dBackwardWeight's accumulators: per cell, the imageGroups blocks added lane by
// lane in order (f64), then the lanes as (l0 + l1) + (l2 + l3). Threads split the cells.
export function directWeightGradFinish(acc: usize, imageGroups: i32, cells: i32, gw: usize, tid: i32, nt: i32): void {
  const block = <usize>cells << 5;
  for (let e = part(cells, tid, nt); e < part(cells, tid + 1, nt); e++) {
    const d = acc + (<usize>e << 5);
    let lo = v128.load(d), hi = v128.load(d, 16);
    for (let q = 1; q < imageGroups; q++) {
      const dq = d + <usize>q * block;
      lo = f64x2.add(lo, v128.load(dq));
      hi = f64x2.add(hi, v128.load(dq, 16));
    }
    store<f32>(addr(gw, e), <f32>((f64x2.extract_lane(lo, 0) + f64x2.extract_lane(lo, 1)) + (f64x2.extract_lane(hi, 0) + f64x2.extract_lane(hi, 1))));
  }
}

// ---------------------------------------------------------------- input gradient

// Fills padded rows of the output gradient spread back onto the input grid (the transposed convolution as a
// stride-1 convolution): local row R of channel c, index t holds gy[c, a/sH, b/sW] where a = rowAbs0 + R - offH
// and b = t - offW when both divide by the stride and fall inside gy, else 0. One phase (stride 1).
function fillSpread(src: usize, nch: i32, outH: i32, outW: i32, sH: i32, sW: i32, rowAbs0: i32, rows: i32,
  offH: i32, offW: i32, phaseLen: i32, planeStride: i32, dst: usize): void {
  for (let c = 0; c < nch; c++) {
    const sc = addr(src, c * outH * outW), dc = addr(dst, c * planeStride);
    for (let r = 0; r < rows; r++) {
      const a = rowAbs0 + r - offH, drow = addr(dc, r * phaseLen);
      if (a < 0 || a % sH != 0 || a / sH >= outH) { zeroFloats(drow, phaseLen); continue; }
      const srow = addr(sc, (a / sH) * outW);
      if (sW == 1) {
        const lo = min<i32>(phaseLen, max<i32>(0, offW)), hi = max<i32>(lo, min<i32>(phaseLen, offW + outW));
        zeroFloats(drow, lo);
        copyFloats(addr(drow, lo), addr(srow, lo - offW), hi - lo);
        zeroFloats(addr(drow, hi), phaseLen - hi);
      } else {
        zeroFloats(drow, phaseLen);
        for (let ox = 0; ox < outW; ox++) {
          const t = ox * sW + offW;
          if (t >= 0 && t < phaseLen) store<f32>(addr(drow, t), load<f32>(addr(srow, ox)));
        }
      }
    }
  }
}

/** Scratch bytes per thread of directConv2dBackwardInput (keep in step with its layout). */
export function directInputGradScratch(geom: usize): i32 {
  const h = gi(geom, 2), wd = gi(geom, 3), og = gi(geom, 4) / gi(geom, 13), kh = gi(geom, 5), kw = gi(geom, 6);
  const dH = gi(geom, 11), dW = gi(geom, 12);
  const phaseLen = phaseLength(wd, kw, 1, dW), rowsFull = h + (kh - 1) * dH, kk = og * kh * kw;
  return og * rowsFull * phaseLen * 4 + 64 + kk * 64 + 64 + kk * 4 + 64 + 256;
}

// Input gradient: gy is (N,O,OH,OW), w is (O,C/g,KH,KW), gx is (N,C,H,W) and is overwritten.
// gx[c] = sum over the group's output channels j and taps of w[j,c] flipped * (gy[j] spread onto the input grid):
// the transposed convolution as a stride-1 direct convolution with reduction O/g*KH*KW, taps in (j, ky, kx)
// order of the flipped kernel, input channels 4 at a time then singly. (With stride s, 1 in s*s spread values is
// nonzero: the host sends strided layers here only when they are depthwise.)
// Work items: (image, group, input-row chunk), chunks only when there are fewer units than shares.
export function directConv2dBackwardInput(gy: usize, w: usize, geom: usize, gx: usize,
  scratch: usize, tid: i32, nt: i32): void {
  const n = gi(geom, 0), cIn = gi(geom, 1), h = gi(geom, 2), wd = gi(geom, 3), cOut = gi(geom, 4);
  const kh = gi(geom, 5), kw = gi(geom, 6), sH = gi(geom, 7), sW = gi(geom, 8), pH = gi(geom, 9), pW = gi(geom, 10);
  const dH = gi(geom, 11), dW = gi(geom, 12), groups = gi(geom, 13), outH = gi(geom, 14), outW = gi(geom, 15);
  const cg = cIn / groups, og = cOut / groups, khkw = kh * kw, kk = og * khkw;
  const offH = (kh - 1) * dH - pH, offW = (kw - 1) * dW - pW;
  const phaseLen = phaseLength(wd, kw, 1, dW), rowsFull = h + (kh - 1) * dH, planeStride = rowsFull * phaseLen;
  const planes = scratch, wts = align64(addr(planes, og * planeStride)), taps = align64(wts + (<usize>kk << 6));
  const tmp = align64(taps + (<usize>kk << 2));
  writeTaps(taps, og, kh, kw, dH, dW, 1, phaseLen, planeStride);
  const units = n * groups;
  const chunks = units >= nt ? 1 : min<i32>(h, (nt + units - 1) / units);
  const items = units * chunks, it0 = part(items, tid, nt), it1 = part(items, tid + 1, nt);
  for (let it = it0; it < it1; it++) {
    const unit = it / chunks, ch = it % chunks, b = unit / groups, grp = unit % groups;
    const iy0 = part(h, ch, chunks), iy1 = part(h, ch + 1, chunks);
    if (iy1 <= iy0) continue;
    const rows = iy1 - iy0;
    fillSpread(addr(gy, (b * cOut + grp * og) * outH * outW), og, outH, outW, sH, sW, iy0, rows + (kh - 1) * dH,
      offH, offW, phaseLen, planeStride, planes);
    // w[o, c, ky, kx] of the group's output channel j = o - grp*og, flipped: tap (j, ky, kx) reads (kh-1-ky, kw-1-kx).
    const wg = addr(w, grp * og * cg * khkw);
    let c = 0;
    for (; c + 4 <= cg; c += 4) {
      for (let j = 0; j < og; j++) {
        for (let k = 0; k < khkw; k++) {
          const t = j * khkw + k, src = addr(wg, (j * cg + c) * khkw + khkw - 1 - k);
          for (let l = 0; l < 4; l++) store<f32>(addr(wts, t * 4 + l), load<f32>(addr(src, l * khkw)));
        }
      }
      forwardBlock4(planes, phaseLen, rows, taps, kk, wts, 0, 0, 0, 0, addr(gx, ((b * cIn + grp * cg + c) * h + iy0) * wd), h * wd, wd, tmp, false);
    }
    for (; c < cg; c++) {
      for (let j = 0; j < og; j++) {
        for (let k = 0; k < khkw; k++) {
          store<f32>(addr(wts, j * khkw + k), load<f32>(addr(wg, (j * cg + c) * khkw + khkw - 1 - k)));
        }
      }
      forwardBlock1(planes, phaseLen, rows, taps, kk, wts, 0, addr(gx, ((b * cIn + grp * cg + c) * h + iy0) * wd), wd, tmp, false);
    }
  }
}
