// Convolution and locally connected layers as packed GEMMs. The forward pass builds the im2col matrix (a row copy
// per tap, then the GEMM packs it with vector copies: measured faster than gathering while packing); the weight
// gradient builds it too and the GEMM packs it transposed, 4x4 blocks through registers (measured ~8% faster
// than gathering the taps one float at a time while packing, gemm.ts B_IM2COL_T); the input gradient builds
// col = w^T gy and adds it back with col2im.
//
// Every kernel takes `geom`, the address of 16 i32 written by the host in this order:
//   n, cIn, h, w, cOut, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW, groups, outH, outW
// and (scratch, tid, nt): the share tid of nt, computed with the calling thread's own scratch memory
// (GEMM_SCRATCH floats for the GEMM, then the im2col / patch buffers).
// Work is split over output elements only, and each output element is always reduced in the same order,
// so 1 and N threads give identical bits.

import { addr, gi, part, zeroFloats } from './common';
import { gemmST, GEMM_SCRATCH, NR } from './gemm';

// Short runs (an image row, tens of floats): inline loops, cheaper than memory.copy/fill's call for so few bytes.
@inline function copyFloats(dst: usize, src: usize, len: i32): void {
  if (len < 4) {
    for (let t = 0; t < len; t++) store<f32>(addr(dst, t), load<f32>(addr(src, t)));
    return;
  }
  let t = 0;
  for (; t + 4 <= len; t += 4) v128.store(addr(dst, t), v128.load(addr(src, t)));
  // The last 1-3 floats as one vector ending at len (rewriting a few with the same values): no scalar tail.
  if (t < len) v128.store(addr(dst, len - 4), v128.load(addr(src, len - 4)));
}

// x points at channel 0 of nch channels (each H*W) of one image; col is (nch*KH*KW, q1-q0):
// column q of row (c,i,j) holds x[c, oy*sH-pH+i*dH, ox*sW-pW+j*dW] for output position q = oy*OW+ox, or 0 in padding.
function im2col(x: usize, nch: i32, geom: usize, q0: i32, q1: i32, col: usize): void {
  const h = gi(geom, 2), w = gi(geom, 3), kh = gi(geom, 5), kw = gi(geom, 6);
  const sH = gi(geom, 7), sW = gi(geom, 8), pH = gi(geom, 9), pW = gi(geom, 10), dH = gi(geom, 11), dW = gi(geom, 12);
  const outW = gi(geom, 15);
  let dst = col;
  if (sW == 1 && q0 % outW == 0 && q1 % outW == 0) {
    // Whole output rows at stride 1 (the common case): a tap's in-image column range is the same for every row,
    // so it is found once per tap, and the rows above/below the image once per kernel row.
    const oy0 = q0 / outW, oy1 = q1 / outW;
    for (let c = 0; c < nch; c++) {
      const xc = addr(x, c * h * w);
      for (let i = 0; i < kh; i++) {
        // rows oy with 0 <= oy*sH - pH + i*dH < h: [yLo, yHi) within [oy0, oy1)
        const off = i * dH - pH;
        let yLo = off >= 0 ? 0 : (-off + sH - 1) / sH, yHi = h - off <= 0 ? 0 : (h - off + sH - 1) / sH;
        yLo = min<i32>(oy1, max<i32>(oy0, yLo)); yHi = min<i32>(oy1, max<i32>(yLo, yHi));
        for (let j = 0; j < kw; j++) {
          const lo = max<i32>(0, min<i32>(outW, pW - j * dW)), hi = max<i32>(lo, min<i32>(outW, w + pW - j * dW));
          const shift = j * dW - pW;
          zeroFloats(dst, (yLo - oy0) * outW);
          dst = addr(dst, (yLo - oy0) * outW);
          for (let oy = yLo; oy < yHi; oy++) {
            const src = addr(xc, (oy * sH + off) * w + shift);
            zeroFloats(dst, lo);
            copyFloats(addr(dst, lo), addr(src, lo), hi - lo);
            zeroFloats(addr(dst, hi), outW - hi);
            dst = addr(dst, outW);
          }
          zeroFloats(dst, (oy1 - yHi) * outW);
          dst = addr(dst, (oy1 - yHi) * outW);
        }
      }
    }
    return;
  }
  for (let c = 0; c < nch; c++) {
    const xc = addr(x, c * h * w);
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        let q = q0, oy = q0 / outW, ox = q0 % outW;
        while (q < q1) {
          const xEnd = min<i32>(outW, ox + (q1 - q));
          const len = xEnd - ox;
          const iy = oy * sH - pH + i * dH;
          if (iy < 0 || iy >= h) {
            zeroFloats(dst, len);
          } else {
            const src = addr(xc, iy * w);
            if (sW == 1) {
              // ix = ox' - pW + j*dW is valid for ox' in [pW - j*dW, w + pW - j*dW)
              const lo = max<i32>(ox, min<i32>(xEnd, pW - j * dW)), hi = max<i32>(lo, min<i32>(xEnd, w + pW - j * dW));
              zeroFloats(dst, lo - ox);
              copyFloats(addr(dst, lo - ox), addr(src, lo - pW + j * dW), hi - lo);
              zeroFloats(addr(dst, hi - ox), xEnd - hi);
            } else {
              for (let xo = ox; xo < xEnd; xo++) {
                const ix = xo * sW - pW + j * dW;
                store<f32>(addr(dst, xo - ox), ix >= 0 && ix < w ? load<f32>(addr(src, ix)) : <f32>0);
              }
            }
          }
          dst = addr(dst, len); q += len; oy++; ox = 0;
        }
      }
    }
  }
}

// col is (nch*KH*KW, OH*OW); adds each column entry into gx (nch, H, W) at the position im2col read it from.
function col2imAdd(col: usize, nch: i32, geom: usize, gx: usize): void {
  const h = gi(geom, 2), w = gi(geom, 3), kh = gi(geom, 5), kw = gi(geom, 6);
  const sH = gi(geom, 7), sW = gi(geom, 8), pH = gi(geom, 9), pW = gi(geom, 10), dH = gi(geom, 11), dW = gi(geom, 12);
  const outH = gi(geom, 14), outW = gi(geom, 15);
  let src = col;
  for (let c = 0; c < nch; c++) {
    const gc = addr(gx, c * h * w);
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const lo = sW == 1 ? max<i32>(0, min<i32>(outW, pW - j * dW)) : 0;
        const hi = sW == 1 ? max<i32>(lo, min<i32>(outW, w + pW - j * dW)) : outW;
        for (let oy = 0; oy < outH; oy++) {
          const iy = oy * sH - pH + i * dH;
          if (iy >= 0 && iy < h) {
            const dstRow = addr(gc, iy * w), srcRow = addr(src, oy * outW);
            if (sW == 1) {
              const d = addr(dstRow, lo - pW + j * dW), s = addr(srcRow, lo);
              const len = hi - lo;
              let t = 0;
              for (; t + 4 <= len; t += 4) {
                const o = <usize>t << 2;
                v128.store(d + o, f32x4.add(v128.load(d + o), v128.load(s + o)));
              }
              for (; t < len; t++) {
                const o = <usize>t << 2;
                store<f32>(d + o, load<f32>(d + o) + load<f32>(s + o));
              }
            } else {
              for (let ox = 0; ox < outW; ox++) {
                const ix = ox * sW - pW + j * dW;
                if (ix >= 0 && ix < w) store<f32>(addr(dstRow, ix), load<f32>(addr(dstRow, ix)) + load<f32>(addr(srcRow, ox)));
              }
            }
          }
        }
        src = addr(src, outH * outW);
      }
    }
  }
}

/** Output positions per f32 partial sum of the weight gradient (then summed in f64); a multiple of 16. */
const POSITIONS_PER_PARTIAL: i32 = 64;

@inline function isPointwise(geom: usize): bool {
  return gi(geom, 5) == 1 && gi(geom, 6) == 1 && gi(geom, 7) == 1 && gi(geom, 8) == 1 && gi(geom, 9) == 0 && gi(geom, 10) == 0;
}

// x is (N,C,H,W), w is (O,C/g,KH,KW), bias is (O) or 0, out is (N,O,OH,OW).
// Work items: (image, group) units, each split into column chunks of output positions when units < nt.
// Scratch per thread: GEMM_SCRATCH + (C/g*KH*KW)*(OH*OW) floats.
export function conv2dForward(x: usize, w: usize, bias: usize, geom: usize, out: usize,
  scratch: usize, tid: i32, nt: i32): void {
  const n = gi(geom, 0), cIn = gi(geom, 1), h = gi(geom, 2), wd = gi(geom, 3), cOut = gi(geom, 4);
  const groups = gi(geom, 13), p = gi(geom, 14) * gi(geom, 15);
  const cg = cIn / groups, og = cOut / groups, kk = cg * gi(geom, 5) * gi(geom, 6);
  const s = scratch, col = addr(s, GEMM_SCRATCH);
  const pointwise = isPointwise(geom);
  const units = n * groups;
  const chunks = units >= nt ? 1 : (nt + units - 1) / units;
  const strips = (p + NR - 1) / NR;
  const items = units * chunks, it0 = part(items, tid, nt), it1 = part(items, tid + 1, nt);
  for (let it = it0; it < it1; it++) {
    const unit = it / chunks, ch = it % chunks, b = unit / groups, grp = unit % groups;
    const q0 = part(strips, ch, chunks) * NR, q1 = min<i32>(p, part(strips, ch + 1, chunks) * NR);
    if (q1 <= q0) continue;
    const xg = addr(x, (b * cIn + grp * cg) * h * wd);
    const c = addr(out, (b * cOut + grp * og) * p + q0);
    let bm = col, ldb = q1 - q0;
    if (pointwise) { bm = addr(xg, q0); ldb = p; } else im2col(xg, cg, geom, q0, q1, col);
    gemmST(false, false, og, q1 - q0, kk, addr(w, grp * og * kk), kk, bm, ldb, c, p, false, s);
    if (bias != 0) {
      for (let o = 0; o < og; o++) {
        const bv = f32x4.splat(load<f32>(addr(bias, grp * og + o))), row = addr(c, o * p), len = q1 - q0;
        let t = 0;
        for (; t + 4 <= len; t += 4) v128.store(addr(row, t), f32x4.add(v128.load(addr(row, t)), bv));
        for (; t < len; t++) store<f32>(addr(row, t), load<f32>(addr(row, t)) + f32x4.extract_lane(bv, 0));
      }
    }
  }
}

// gy is (N,O,OH,OW), w is (O,C/g,KH,KW), gx is (N,C,H,W) and is overwritten.
// col[(c,i,j), q] = sum_o w[o,c,i,j] * gy[o,q] (a GEMM with w transposed), then col2im adds col into gx.
// Work items: (image, group) units, each split into input-channel chunks when units < nt (disjoint gx planes).
// Scratch per thread: GEMM_SCRATCH + (C/g*KH*KW)*(OH*OW) floats.
export function conv2dBackwardInput(gy: usize, w: usize, geom: usize, gx: usize,
  scratch: usize, tid: i32, nt: i32): void {
  const n = gi(geom, 0), cIn = gi(geom, 1), h = gi(geom, 2), wd = gi(geom, 3), cOut = gi(geom, 4);
  const khkw = gi(geom, 5) * gi(geom, 6), groups = gi(geom, 13), p = gi(geom, 14) * gi(geom, 15);
  const cg = cIn / groups, og = cOut / groups, kk = cg * khkw;
  const s = scratch, col = addr(s, GEMM_SCRATCH);
  const pointwise = isPointwise(geom);
  const units = n * groups;
  const chunks = units >= nt ? 1 : min<i32>(cg, (nt + units - 1) / units);
  const items = units * chunks, it0 = part(items, tid, nt), it1 = part(items, tid + 1, nt);
  for (let it = it0; it < it1; it++) {
    const unit = it / chunks, ch = it % chunks, b = unit / groups, grp = unit % groups;
    const c0 = part(cg, ch, chunks), c1 = part(cg, ch + 1, chunks);
    if (c1 <= c0) continue;
    const gxg = addr(gx, (b * cIn + grp * cg + c0) * h * wd);
    const a = addr(w, grp * og * kk + c0 * khkw), bm = addr(gy, (b * cOut + grp * og) * p);
    const rows = (c1 - c0) * khkw;
    if (pointwise) {
      gemmST(true, false, rows, p, og, a, kk, bm, p, gxg, p, false, s);
    } else {
      gemmST(true, false, rows, p, og, a, kk, bm, p, col, p, false, s);
      memory.fill(gxg, 0, <usize>((c1 - c0) * h * wd) << 2);
      col2imAdd(col, c1 - c0, geom, gxg);
    }
  }
}

// x is (N,C,H,W), gy is (N,O,OH,OW), gw is (O,C/g,KH,KW) and is overwritten.
// gw[o,(c,i,j)] = sum over images b (in order, in f64) of the f32 GEMM sum_q gy[b,o,q] * col_b[(c,i,j),q].
// Work items: groups, each split into input-channel chunks (taps of those channels) or, when a group has fewer
// channels than needed, into output-channel chunks.
// Scratch per thread: GEMM_SCRATCH + 3*(O/g)*(C/g*KH*KW) floats (an f32 partial and an f64 sum), then
// (C/g*KH*KW)*(OH*OW) floats for the im2col matrix of one image.
export function conv2dBackwardWeight(x: usize, gy: usize, geom: usize, gw: usize,
  scratch: usize, tid: i32, nt: i32): void {
  const n = gi(geom, 0), cIn = gi(geom, 1), h = gi(geom, 2), wd = gi(geom, 3), cOut = gi(geom, 4);
  const khkw = gi(geom, 5) * gi(geom, 6), groups = gi(geom, 13), p = gi(geom, 14) * gi(geom, 15);
  const cg = cIn / groups, og = cOut / groups, kk = cg * khkw;
  const s = scratch;
  const pointwise = isPointwise(geom);
  const need = groups >= nt ? 1 : (nt + groups - 1) / groups;
  const byChannel = need == 1 || cg >= need;
  const chunks = byChannel ? min<i32>(cg, need) : min<i32>(og, need);
  const items = groups * chunks, it0 = part(items, tid, nt), it1 = part(items, tid + 1, nt);
  for (let it = it0; it < it1; it++) {
    const grp = it / chunks, ch = it % chunks;
    let c0 = 0, c1 = cg, o0 = 0, o1 = og;
    if (byChannel) { c0 = part(cg, ch, chunks); c1 = part(cg, ch + 1, chunks); }
    else { o0 = part(og, ch, chunks); o1 = part(og, ch + 1, chunks); }
    if (c1 <= c0 || o1 <= o0) continue;
    const rows = o1 - o0, cols = (c1 - c0) * khkw;
    // The contribution of one image and POSITIONS_PER_PARTIAL output positions (rows, cols) in f32, summed in
    // f64: a gradient that sums to nearly zero over many positions (as after batch norm) keeps its accuracy.
    const partial = addr(s, GEMM_SCRATCH), acc = addr(partial, rows * cols), col = addr(acc, 2 * rows * cols);
    const accLen = rows * cols;
    for (let t = 0; t < accLen; t++) store<f64>(acc + (<usize>t << 3), 0);
    for (let b = 0; b < n; b++) {
     const xg = addr(x, (b * cIn + grp * cg + c0) * h * wd);
     // The image's im2col matrix (cols, P) with vector row copies; the GEMM's B is its transpose, which packB
     // moves 4x4 through registers: cheaper than gathering the taps one float at a time while packing
     // (B_IM2COL_T), and the same packed values, so the same bits.
     const bm = pointwise ? xg : col;
     if (!pointwise) im2col(xg, c1 - c0, geom, 0, p, col);
     for (let q0 = 0; q0 < p; q0 += POSITIONS_PER_PARTIAL) {
      const q1 = min<i32>(p, q0 + POSITIONS_PER_PARTIAL);
      const a = addr(gy, (b * cOut + grp * og + o0) * p + q0);
      gemmST(false, true, rows, cols, q1 - q0, a, p, addr(bm, q0), p, partial, cols, false, s);
      let t = 0;
      for (; t + 4 <= accLen; t += 4) {
        const v = v128.load(addr(partial, t)), d = acc + (<usize>t << 3);
        v128.store(d, f64x2.add(v128.load(d), f64x2.promote_low_f32x4(v)));
        v128.store(d, f64x2.add(v128.load(d, 16), f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1))), 16);
      }
      for (; t < accLen; t++) {
        const d = acc + (<usize>t << 3);
        store<f64>(d, load<f64>(d) + <f64>load<f32>(addr(partial, t)));
      }
     }
    }
    for (let r = 0; r < rows; r++) {
      const dst = addr(gw, (grp * og + o0 + r) * kk + c0 * khkw);
      for (let t = 0; t < cols; t++) store<f32>(addr(dst, t), <f32>load<f64>(acc + (<usize>(r * cols + t) << 3)));
    }
  }
}

// ---------------------------------------------------------------- locally connected

// Patches at output position (oy,ox) of images b0..b1: rows (b1-b0), columns C*KH*KW, zero in padding.
function gatherPatches(x: usize, geom: usize, oy: i32, ox: i32, b0: i32, b1: i32, patches: usize): void {
  const cIn = gi(geom, 1), h = gi(geom, 2), w = gi(geom, 3), kh = gi(geom, 5), kw = gi(geom, 6);
  const sH = gi(geom, 7), sW = gi(geom, 8), pH = gi(geom, 9), pW = gi(geom, 10), dH = gi(geom, 11), dW = gi(geom, 12);
  let dst = patches;
  for (let b = b0; b < b1; b++) {
    for (let c = 0; c < cIn; c++) {
      const xc = addr(x, (b * cIn + c) * h * w);
      for (let i = 0; i < kh; i++) {
        const iy = oy * sH - pH + i * dH;
        for (let j = 0; j < kw; j++) {
          const ix = ox * sW - pW + j * dW;
          store<f32>(dst, iy >= 0 && iy < h && ix >= 0 && ix < w ? load<f32>(addr(xc, iy * w + ix)) : <f32>0);
          dst += 4;
        }
      }
    }
  }
}

// Adds patches (rows b0..b1, columns C*KH*KW) into gx at the positions gatherPatches read them from.
function scatterPatchesAdd(patches: usize, geom: usize, oy: i32, ox: i32, b0: i32, b1: i32, gx: usize): void {
  const cIn = gi(geom, 1), h = gi(geom, 2), w = gi(geom, 3), kh = gi(geom, 5), kw = gi(geom, 6);
  const sH = gi(geom, 7), sW = gi(geom, 8), pH = gi(geom, 9), pW = gi(geom, 10), dH = gi(geom, 11), dW = gi(geom, 12);
  let src = patches;
  for (let b = b0; b < b1; b++) {
    for (let c = 0; c < cIn; c++) {
      const gc = addr(gx, (b * cIn + c) * h * w);
      for (let i = 0; i < kh; i++) {
        const iy = oy * sH - pH + i * dH;
        for (let j = 0; j < kw; j++) {
          const ix = ox * sW - pW + j * dW;
          if (iy >= 0 && iy < h && ix >= 0 && ix < w) {
            const d = addr(gc, iy * w + ix);
            store<f32>(d, load<f32>(d) + load<f32>(src));
          }
          src += 4;
        }
      }
    }
  }
}

// x is (N,C,H,W), w is (OH*OW, O, C, KH, KW), bias is (O,OH,OW) or 0, out is (N,O,OH,OW).
// Per output position: y (N,O) = patches (N, C*KH*KW) @ w_pos^T. Threads split positions.
// Scratch per thread: GEMM_SCRATCH + N*C*KH*KW + N*O floats.
export function locallyConnected2dForward(x: usize, w: usize, bias: usize, geom: usize, out: usize,
  scratch: usize, tid: i32, nt: i32): void {
  const n = gi(geom, 0), cIn = gi(geom, 1), cOut = gi(geom, 4), outW = gi(geom, 15), p = gi(geom, 14) * outW;
  const kk = cIn * gi(geom, 5) * gi(geom, 6);
  const s = scratch, patches = addr(s, GEMM_SCRATCH), y = addr(patches, n * kk);
  for (let pos = part(p, tid, nt); pos < part(p, tid + 1, nt); pos++) {
    gatherPatches(x, geom, pos / outW, pos % outW, 0, n, patches);
    gemmST(false, true, n, cOut, kk, patches, kk, addr(w, pos * cOut * kk), kk, y, cOut, false, s);
    for (let b = 0; b < n; b++) {
      for (let o = 0; o < cOut; o++) {
        let v = load<f32>(addr(y, b * cOut + o));
        if (bias != 0) v += load<f32>(addr(bias, o * p + pos));
        store<f32>(addr(out, (b * cOut + o) * p + pos), v);
      }
    }
  }
}

// gy is (N,O,OH,OW), w is (OH*OW, O, C, KH, KW), gx is (N,C,H,W) and is overwritten.
// Threads split images (each gx image is written by one thread; positions are added in order).
// Scratch per thread: GEMM_SCRATCH + N*C*KH*KW + N*O floats.
export function locallyConnected2dBackwardInput(gy: usize, w: usize, geom: usize, gx: usize,
  scratch: usize, tid: i32, nt: i32): void {
  const n = gi(geom, 0), cIn = gi(geom, 1), h = gi(geom, 2), wd = gi(geom, 3), cOut = gi(geom, 4);
  const outW = gi(geom, 15), p = gi(geom, 14) * outW, kk = cIn * gi(geom, 5) * gi(geom, 6);
  const s = scratch, patches = addr(s, GEMM_SCRATCH), gyPos = addr(patches, n * kk);
  const b0 = part(n, tid, nt), b1 = part(n, tid + 1, nt), nb = b1 - b0;
  if (nb <= 0) return;
  memory.fill(addr(gx, b0 * cIn * h * wd), 0, <usize>(nb * cIn * h * wd) << 2);
  for (let pos = 0; pos < p; pos++) {
    for (let b = b0; b < b1; b++) {
      for (let o = 0; o < cOut; o++) store<f32>(addr(gyPos, (b - b0) * cOut + o), load<f32>(addr(gy, (b * cOut + o) * p + pos)));
    }
    gemmST(false, false, nb, kk, cOut, gyPos, cOut, addr(w, pos * cOut * kk), kk, patches, kk, false, s);
    scatterPatchesAdd(patches, geom, pos / outW, pos % outW, b0, b1, gx);
  }
}

// x is (N,C,H,W), gy is (N,O,OH,OW), gw is (OH*OW, O, C, KH, KW) and is overwritten.
// Per position: gw_pos (O, C*KH*KW) = gy_pos^T (O,N) @ patches (N, C*KH*KW). Threads split positions.
export function locallyConnected2dBackwardWeight(x: usize, gy: usize, geom: usize, gw: usize,
  scratch: usize, tid: i32, nt: i32): void {
  const n = gi(geom, 0), cIn = gi(geom, 1), cOut = gi(geom, 4), outW = gi(geom, 15), p = gi(geom, 14) * outW;
  const kk = cIn * gi(geom, 5) * gi(geom, 6);
  const s = scratch, patches = addr(s, GEMM_SCRATCH), gyPos = addr(patches, n * kk);
  for (let pos = part(p, tid, nt); pos < part(p, tid + 1, nt); pos++) {
    gatherPatches(x, geom, pos / outW, pos % outW, 0, n, patches);
    for (let b = 0; b < n; b++) {
      for (let o = 0; o < cOut; o++) store<f32>(addr(gyPos, b * cOut + o), load<f32>(addr(gy, (b * cOut + o) * p + pos)));
    }
    gemmST(true, false, cOut, kk, n, gyPos, cOut, patches, kk, addr(gw, pos * cOut * kk), kk, false, s);
  }
}
