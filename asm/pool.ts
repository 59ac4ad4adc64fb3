// Max and average pooling, forward and backward. Threads split (N*C) planes; each plane is done by one thread.
//
// `geom` is the address of 14 i32 written by the host in this order:
//   n, c, h, w, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW, outH, outW
// (dilation is used by max pooling only; average pooling has dilation 1).

import { addr, gi, part } from './common';

// x is (N,C,H,W); out and argmax are (N,C,OH,OW); argmax is the flat h*W+w index inside the plane, or 0 (the
// address) when only the maxima are wanted.
// Same scan order and NaN rule as the reference: the first maximum wins; the first NaN wins and stays.
@inline function better(v: f32, best: f32): bool { return v > best || (v != v && best == best); }
@inline function better4(v: v128, best: v128): v128 {
  return v128.or(f32x4.gt(v, best), v128.and(f32x4.ne(v, v), f32x4.eq(best, best)));
}

/**
 * One output row of 2x2/2 max pooling without indices: out[ox] = the max of rows r0 = src, r1 = src + w floats at
 * columns 2ox, 2ox+1, with the same scan order, NaN rule and selections as maxPool2d (so the same bits). Also the
 * epilogue of asm/direct.ts's fused convolution + pooling. A last partial group of outputs is computed as a vector
 * too (storing only its valid lanes) when its loads, up to 6 floats past the row pair, stay below `limit` (the
 * end of the input); otherwise one by one.
 */
export function maxPool2x2Row(src: usize, w: i32, out: usize, outW: i32, limit: usize): void {
  let ox = 0;
  for (; ox < outW; ox += 4) {
    const i = 2 * ox, left = outW - ox;
    if (left < 4 && addr(src, i + w + 8) > limit) break;
    const r0a = v128.load(addr(src, i)), r0b = v128.load(addr(src, i + 4));
    const r1a = v128.load(addr(src, i + w)), r1b = v128.load(addr(src, i + w + 4));
    let best = i32x4.shuffle(r0a, r0b, 0, 2, 4, 6);
    const v1 = i32x4.shuffle(r0a, r0b, 1, 3, 5, 7);
    best = v128.bitselect(v1, best, better4(v1, best));
    const v2 = i32x4.shuffle(r1a, r1b, 0, 2, 4, 6);
    best = v128.bitselect(v2, best, better4(v2, best));
    const v3 = i32x4.shuffle(r1a, r1b, 1, 3, 5, 7);
    best = v128.bitselect(v3, best, better4(v3, best));
    const d = addr(out, ox);
    if (left >= 4) v128.store(d, best);
    else if (left == 3) { v128.store64_lane(d, best, 0); v128.store32_lane(d, best, 2, 8); }
    else if (left == 2) v128.store64_lane(d, best, 0);
    else v128.store32_lane(d, best, 0);
  }
  // Selections on the bits as integers: V8 compiles an f32 select (or an if) into branches, which random data
  // mispredicted about every other time (this tail then cost 4x the vector loop).
  for (; ox < outW; ox++) {
    const i = 2 * ox;
    let best = load<i32>(addr(src, i));
    best = pick(load<i32>(addr(src, i + 1)), best);
    best = pick(load<i32>(addr(src, i + w)), best);
    best = pick(load<i32>(addr(src, i + w + 1)), best);
    store<i32>(addr(out, ox), best);
  }
}

// better() on bit patterns, computed without branches.
@inline function takes(candidate: i32, best: i32): bool {
  const v = reinterpret<f32>(candidate), b = reinterpret<f32>(best);
  return (<i32>(v > b) | (<i32>(v != v) & <i32>(b == b))) != 0;
}
// The candidate's bits if it is better than the best so far.
@inline function pick(candidate: i32, best: i32): i32 {
  return select<i32>(candidate, best, takes(candidate, best));
}

export function maxPool2d(x: usize, geom: usize, out: usize, argmax: usize, tid: i32, nt: i32): void {
  const planes = gi(geom, 0) * gi(geom, 1), h = gi(geom, 2), w = gi(geom, 3), kh = gi(geom, 4), kw = gi(geom, 5);
  const sH = gi(geom, 6), sW = gi(geom, 7), pH = gi(geom, 8), pW = gi(geom, 9), dH = gi(geom, 10), dW = gi(geom, 11);
  const outH = gi(geom, 12), outW = gi(geom, 13);
  // The 2x2/2 fast path needs every window inside the plane (ceil mode can add a clipped last row/column).
  const window2x2 = kh == 2 && kw == 2 && sH == 2 && sW == 2 && pH == 0 && pW == 0 && dH == 1 && dW == 1 && 2 * outH <= h && 2 * outW <= w;
  for (let plane = part(planes, tid, nt); plane < part(planes, tid + 1, nt); plane++) {
    const xp = addr(x, plane * h * w), op = plane * outH * outW;
    if (window2x2) {
      // The common 2x2/2 window: four candidates in the reference's scan order.
      for (let oy = 0; oy < outH; oy++) {
        const i0 = 2 * oy * w;
        let ox = 0;
        if (argmax == 0) {
          maxPool2x2Row(addr(xp, i0), w, addr(out, op + oy * outW), outW, addr(x, planes * h * w));
          continue;
        }
        // Four outputs at a time: even/odd columns of both rows, compared in the scalar order below.
        for (; ox + 4 <= outW; ox += 4) {
          const i = i0 + 2 * ox;
          const r0a = v128.load(addr(xp, i)), r0b = v128.load(addr(xp, i + 4));
          const r1a = v128.load(addr(xp, i + w)), r1b = v128.load(addr(xp, i + w + 4));
          const v0 = i32x4.shuffle(r0a, r0b, 0, 2, 4, 6), v1 = i32x4.shuffle(r0a, r0b, 1, 3, 5, 7);
          const v2 = i32x4.shuffle(r1a, r1b, 0, 2, 4, 6), v3 = i32x4.shuffle(r1a, r1b, 1, 3, 5, 7);
          let best = v0;
          let idx = i32x4.add(i32x4.splat(i), i32x4(0, 2, 4, 6));
          let take = better4(v1, best);
          best = v128.bitselect(v1, best, take);
          idx = v128.bitselect(i32x4.add(i32x4.splat(i + 1), i32x4(0, 2, 4, 6)), idx, take);
          take = better4(v2, best);
          best = v128.bitselect(v2, best, take);
          idx = v128.bitselect(i32x4.add(i32x4.splat(i + w), i32x4(0, 2, 4, 6)), idx, take);
          take = better4(v3, best);
          best = v128.bitselect(v3, best, take);
          idx = v128.bitselect(i32x4.add(i32x4.splat(i + w + 1), i32x4(0, 2, 4, 6)), idx, take);
          v128.store(addr(out, op + oy * outW + ox), best);
          v128.store(addr(argmax, op + oy * outW + ox), idx);
        }
        for (; ox < outW; ox++) {
          // Integer selections, without branches (see maxPool2x2Row).
          const i = i0 + 2 * ox;
          let best = load<i32>(addr(xp, i)), idx = i;
          let v = load<i32>(addr(xp, i + 1)), take = takes(v, best);
          best = select<i32>(v, best, take); idx = select<i32>(i + 1, idx, take);
          v = load<i32>(addr(xp, i + w)); take = takes(v, best);
          best = select<i32>(v, best, take); idx = select<i32>(i + w, idx, take);
          v = load<i32>(addr(xp, i + w + 1)); take = takes(v, best);
          best = select<i32>(v, best, take); idx = select<i32>(i + w + 1, idx, take);
          store<i32>(addr(out, op + oy * outW + ox), best);
          store<i32>(addr(argmax, op + oy * outW + ox), idx);
        }
      }
      continue;
    }
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        let best = -Infinity as f32, bestIdx = -1;
        for (let i = 0; i < kh; i++) {
          const iy = oy * sH - pH + i * dH;
          if (iy < 0 || iy >= h) continue;
          for (let j = 0; j < kw; j++) {
            const ix = ox * sW - pW + j * dW;
            if (ix < 0 || ix >= w) continue;
            const v = load<f32>(addr(xp, iy * w + ix));
            if (bestIdx < 0 || better(v, best)) { best = v; bestIdx = iy * w + ix; }
          }
        }
        store<f32>(addr(out, op + oy * outW + ox), best);
        if (argmax != 0) store<i32>(addr(argmax, op + oy * outW + ox), bestIdx);
      }
    }
  }
}

// gy and argmax are (N,C,OH,OW), gx is (N,C,H,W) and is overwritten: gx[argmax] += gy.
export function maxPool2dBackward(gy: usize, argmax: usize, geom: usize, gx: usize, tid: i32, nt: i32): void {
  const planes = gi(geom, 0) * gi(geom, 1), hw = gi(geom, 2) * gi(geom, 3), ohw = gi(geom, 12) * gi(geom, 13);
  for (let plane = part(planes, tid, nt); plane < part(planes, tid + 1, nt); plane++) {
    const gp = addr(gx, plane * hw), op = plane * ohw;
    memory.fill(gp, 0, <usize>hw << 2);
    for (let o = 0; o < ohw; o++) {
      const idx = load<i32>(addr(argmax, op + o));
      if (idx < 0) continue;
      const d = addr(gp, idx);
      store<f32>(d, load<f32>(d) + load<f32>(addr(gy, op + o)));
    }
  }
}

// The clipped window of output (oy,ox) and its divisor, as in the reference (windows end at H+padH).
@inline function divisorOf(y0: i32, x0: i32, kh: i32, kw: i32, h: i32, w: i32, pH: i32, pW: i32,
  countIncludePad: i32, divisorOverride: f64): f64 {
  const y1 = min<i32>(y0 + kh, h + pH), x1 = min<i32>(x0 + kw, w + pW);
  if (divisorOverride > 0) return divisorOverride;
  if (countIncludePad) return <f64>((y1 - y0) * (x1 - x0));
  return <f64>((min<i32>(y1, h) - max<i32>(y0, 0)) * (min<i32>(x1, w) - max<i32>(x0, 0)));
}

// x is (N,C,H,W), out is (N,C,OH,OW). Sums in f64 like the reference.
export function avgPool2d(x: usize, geom: usize, countIncludePad: i32, divisorOverride: f64, out: usize, tid: i32, nt: i32): void {
  const planes = gi(geom, 0) * gi(geom, 1), h = gi(geom, 2), w = gi(geom, 3), kh = gi(geom, 4), kw = gi(geom, 5);
  const sH = gi(geom, 6), sW = gi(geom, 7), pH = gi(geom, 8), pW = gi(geom, 9), outH = gi(geom, 12), outW = gi(geom, 13);
  for (let plane = part(planes, tid, nt); plane < part(planes, tid + 1, nt); plane++) {
    const xp = addr(x, plane * h * w), op = plane * outH * outW;
    for (let oy = 0; oy < outH; oy++) {
      const y0 = oy * sH - pH;
      for (let ox = 0; ox < outW; ox++) {
        const x0 = ox * sW - pW;
        const divisor = divisorOf(y0, x0, kh, kw, h, w, pH, pW, countIncludePad, divisorOverride);
        const ya = max<i32>(0, y0), yb = min<i32>(h, min<i32>(y0 + kh, h + pH));
        const xa = max<i32>(0, x0), xb = min<i32>(w, min<i32>(x0 + kw, w + pW));
        let s: f64 = 0;
        for (let i = ya; i < yb; i++) for (let j = xa; j < xb; j++) s += <f64>load<f32>(addr(xp, i * w + j));
        store<f32>(addr(out, op + oy * outW + ox), <f32>(s / divisor));
      }
    }
  }
}

// gy is (N,C,OH,OW), gx is (N,C,H,W) and is overwritten: every cell of a window gets gy/divisor.
export function avgPool2dBackward(gy: usize, geom: usize, countIncludePad: i32, divisorOverride: f64, gx: usize, tid: i32, nt: i32): void {
  const planes = gi(geom, 0) * gi(geom, 1), h = gi(geom, 2), w = gi(geom, 3), kh = gi(geom, 4), kw = gi(geom, 5);
  const sH = gi(geom, 6), sW = gi(geom, 7), pH = gi(geom, 8), pW = gi(geom, 9), outH = gi(geom, 12), outW = gi(geom, 13);
  for (let plane = part(planes, tid, nt); plane < part(planes, tid + 1, nt); plane++) {
    const gp = addr(gx, plane * h * w), op = plane * outH * outW;
    memory.fill(gp, 0, <usize>(h * w) << 2);
    for (let oy = 0; oy < outH; oy++) {
      const y0 = oy * sH - pH;
      for (let ox = 0; ox < outW; ox++) {
        const x0 = ox * sW - pW;
        const divisor = divisorOf(y0, x0, kh, kw, h, w, pH, pW, countIncludePad, divisorOverride);
        const ya = max<i32>(0, y0), yb = min<i32>(h, min<i32>(y0 + kh, h + pH));
        const xa = max<i32>(0, x0), xb = min<i32>(w, min<i32>(x0 + kw, w + pW));
        const v = <f64>load<f32>(addr(gy, op + oy * outW + ox)) / divisor;
        for (let i = ya; i < yb; i++) {
          for (let j = xa; j < xb; j++) {
            const d = addr(gp, i * w + j);
            store<f32>(d, <f32>(<f64>load<f32>(d) + v));
          }
        }
      }
    }
  }
}
