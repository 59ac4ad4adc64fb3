// Batch-norm kernels. Threads split channels, and each channel's arithmetic is the same whatever the split, so 1 and
// N threads give identical bits.
//
// Arithmetic in f32x4 (four lanes where f64x2 has two), with f64 only where accuracy needs it. Sums add f32 partial
// sums over blocks of at most BLOCK floats of a row, in independent accumulators (16 or 8 floats a step), then
// promote each block's lanes to f64 and add them in f64 across blocks and rows: an f32 lane adds at most 32 terms,
// so the rounding stays near f32's own. Per-channel constants are computed in f64 and rounded to f32 once. The
// elementwise passes work in f32 on centred values (x - mean, gy - mean(gy)), so their rounding is relative to the
// output rather than to the mean they remove (x*scale + shift would lose log2(|mean|/spread) bits).
// Against f64 on x (128,16,1024) = 3 + N(0,1), relu(N(0,1)) or 100 + N(0,1), gy = N(0,1) or 1 + N(0,1)
// (bench/batchnorm-accuracy.ts): normwise errors 4e-8..2.3e-7 for mean, variance, out, gx, gWeight and gBias, where
// the f64 kernels these replace gave 2e-8..6e-8 (the rounding of f64 results to f32). The f32 gx pass loses to
// cancellation where gy lies mostly along xhat (gy = 0.9 xhat + 0.1 N(0,1): gx 1.3e-6; the error grows like
// 1/sqrt(1 - corr(gy, xhat)^2)). Time, 1 thread, batch 128 at resnet20's three stages, alternating with the f64
// kernels (bench/batchnorm.ts, medians of four runs): channelMoments 0.34-0.57x, batchNormApply 0.55-0.71x
// (memory-bound at the first stage: as fast as a copy), batchNormBackward 0.49-0.75x.

import { addr, part } from './common';

const BLOCK = 256;

@inline function promoteLow(v: v128): v128 { return f64x2.promote_low_f32x4(v); }
@inline function promoteHigh(v: v128): v128 { return f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1)); }
@inline function laneSum(lo: v128, hi: v128): f64 {
  const t = f64x2.add(lo, hi);
  return f64x2.extract_lane(t, 0) + f64x2.extract_lane(t, 1);
}

// Lanes of sum(p[0..len)) in f32, len a multiple of 4 and at most BLOCK.
@inline function blockSum(p: usize, len: i32): v128 {
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
  let i = 0;
  for (; i + 16 <= len; i += 16) {
    const q = addr(p, i);
    a0 = f32x4.add(a0, v128.load(q));
    a1 = f32x4.add(a1, v128.load(q, 16));
    a2 = f32x4.add(a2, v128.load(q, 32));
    a3 = f32x4.add(a3, v128.load(q, 48));
  }
  for (; i < len; i += 4) a0 = f32x4.add(a0, v128.load(addr(p, i)));
  return f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3));
}

// Lanes of sum((p[i] - a)^2) in f32 (va = a in every lane), same scheme.
@inline function blockSquaredDeviation(p: usize, len: i32, va: v128): v128 {
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
  let i = 0;
  for (; i + 16 <= len; i += 16) {
    const q = addr(p, i);
    const d0 = f32x4.sub(v128.load(q), va), d1 = f32x4.sub(v128.load(q, 16), va);
    const d2 = f32x4.sub(v128.load(q, 32), va), d3 = f32x4.sub(v128.load(q, 48), va);
    a0 = f32x4.add(a0, f32x4.mul(d0, d0));
    a1 = f32x4.add(a1, f32x4.mul(d1, d1));
    a2 = f32x4.add(a2, f32x4.mul(d2, d2));
    a3 = f32x4.add(a3, f32x4.mul(d3, d3));
  }
  for (; i < len; i += 4) { const d = f32x4.sub(v128.load(addr(p, i)), va); a0 = f32x4.add(a0, f32x4.mul(d, d)); }
  return f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3));
}

// x is (N,C,HW): per channel mean and biased variance over N and HW; mean and variance are (C).
// Two passes per channel, the mean then the squared deviations, rather than one of sum(x) and sum(x^2), whose
// E[x^2] - E[x]^2 cancels when the mean is large against the spread. The deviations are taken from a = f32(mean),
// exact in f32 where x is near the mean, and sum((x - a)^2) = sum((x - m)^2) + count*(m - a)^2 (as sum(x - m) = 0)
// removes the shift in f64. Compute-bound, not memory-bound: 0.23 ms at (128,16,1024) on one thread, where one f32
// sum over the same 8 MiB (the `reduce` kernel) takes 0.10 ms.
export function channelMoments(x: usize, n: i32, c: i32, hw: i32, mean: usize, variance: usize, tid: i32, nt: i32): void {
  const count = <f64>n * <f64>hw;
  const hw4 = hw & ~3;
  for (let ch = part(c, tid, nt); ch < part(c, tid + 1, nt); ch++) {
    let lo = f64x2.splat(0), hi = lo;
    let tail: f64 = 0;
    // The vector part of every row, then the tails of every row: the same sums as row by row (separate
    // accumulators), and rows shorter than 4 (BatchNorm1d's HW = 1) skip the vector loops' overhead. At (128,512,1)
    // row by row took 0.18 ms, 1.2x the f64 kernel's time; this takes 0.13 ms.
    for (let b = 0; b < n && hw4 > 0; b++) {
      const row = addr(x, (b * c + ch) * hw);
      for (let j = 0; j < hw4; j += BLOCK) {
        const t = blockSum(addr(row, j), min<i32>(BLOCK, hw4 - j));
        lo = f64x2.add(lo, promoteLow(t));
        hi = f64x2.add(hi, promoteHigh(t));
      }
    }
    for (let b = 0; b < n && hw4 < hw; b++) {
      for (let i = hw4; i < hw; i++) tail += <f64>load<f32>(addr(x, (b * c + ch) * hw + i));
    }
    let m = (laneSum(lo, hi) + tail) / count;
    // f32 block sums overflow at |sum| > 3.4e38, where f64 does not: redo such a channel in f64, as the reference.
    if (!isFinite<f64>(m)) m = channelSumF64(x, n, c, hw, ch, 0, 0) / count;
    const a = <f32>m, va = f32x4.splat(a);
    lo = f64x2.splat(0);
    hi = lo;
    tail = 0;
    for (let b = 0; b < n && hw4 > 0; b++) {
      const row = addr(x, (b * c + ch) * hw);
      for (let j = 0; j < hw4; j += BLOCK) {
        const t = blockSquaredDeviation(addr(row, j), min<i32>(BLOCK, hw4 - j), va);
        lo = f64x2.add(lo, promoteLow(t));
        hi = f64x2.add(hi, promoteHigh(t));
      }
    }
    for (let b = 0; b < n && hw4 < hw; b++) {
      for (let i = hw4; i < hw; i++) { const d = <f64>load<f32>(addr(x, (b * c + ch) * hw + i)) - <f64>a; tail += d * d; }
    }
    const shift = m - <f64>a;
    let v = max<f64>(0, (laneSum(lo, hi) + tail) / count - shift * shift);
    // (x - a)^2 overflows f32 from |x - a| > 1.8e19: then the f64 sum of (x - m)^2, as the reference.
    if (!isFinite<f64>(v)) v = channelSumF64(x, n, c, hw, ch, 1, m) / count;
    store<f32>(addr(mean, ch), a);
    store<f32>(addr(variance, ch), <f32>v);
  }
}

// Channel ch of x (N,C,HW) summed in f64 element by element: x, or (x - m)^2 when `squares`. The fallback where f32
// partial sums overflow (a diverging training run's activations reach 1e37): rare, so plain scalar code.
function channelSumF64(x: usize, n: i32, c: i32, hw: i32, ch: i32, squares: i32, m: f64): f64 {
  let s: f64 = 0;
  for (let b = 0; b < n; b++) {
    const row = addr(x, (b * c + ch) * hw);
    for (let i = 0; i < hw; i++) {
      const v = <f64>load<f32>(addr(row, i));
      s += squares != 0 ? (v - m) * (v - m) : v;
    }
  }
  return s;
}

// x and out are (N,C,HW); mean, invStd, weight, bias are (C) (weight/bias 0 = 1/0).
// out = (x - mean)*scale + bias in f32, scale = invStd*weight computed in f64 and rounded once. x - mean first, not
// x*scale + shift: the rounding is then relative to the output even where the mean is large against the spread.
export function batchNormApply(x: usize, n: i32, c: i32, hw: i32, mean: usize, invStd: usize, weight: usize, bias: usize,
  out: usize, tid: i32, nt: i32): void {
  for (let ch = part(c, tid, nt); ch < part(c, tid + 1, nt); ch++) {
    const s = <f32>(<f64>load<f32>(addr(invStd, ch)) * (weight != 0 ? <f64>load<f32>(addr(weight, ch)) : 1.0));
    const m = load<f32>(addr(mean, ch)), h: f32 = bias != 0 ? load<f32>(addr(bias, ch)) : 0;
    const vs = f32x4.splat(s), vm = f32x4.splat(m), vh = f32x4.splat(h);
    for (let b = 0; b < n; b++) {
      const xr = addr(x, (b * c + ch) * hw), orow = addr(out, (b * c + ch) * hw);
      let i = 0;
      for (; i + 16 <= hw; i += 16) {
        const p = addr(xr, i), q = addr(orow, i);
        v128.store(q, f32x4.add(f32x4.mul(f32x4.sub(v128.load(p), vm), vs), vh));
        v128.store(q, f32x4.add(f32x4.mul(f32x4.sub(v128.load(p, 16), vm), vs), vh), 16);
        v128.store(q, f32x4.add(f32x4.mul(f32x4.sub(v128.load(p, 32), vm), vs), vh), 32);
        v128.store(q, f32x4.add(f32x4.mul(f32x4.sub(v128.load(p, 48), vm), vs), vh), 48);
      }
      for (; i + 4 <= hw; i += 4) v128.store(addr(orow, i), f32x4.add(f32x4.mul(f32x4.sub(v128.load(addr(xr, i)), vm), vs), vh));
      for (; i < hw; i++) store<f32>(addr(orow, i), (load<f32>(addr(xr, i)) - m) * s + h);
    }
  }
}

// x, gy, gx are (N,C,HW); mean, invStd, weight (0 = 1), gWeight, gBias are (C).
// training: gx = invStd*w/M * (M*gy - sum(gy) - xhat*sum(gy*xhat)); else gx = gy*w*invStd.
// First pass: sum(gy) and sum(gy*(x - mean)) (times invStd in f64 at the end) in one read of the rows, 8 floats a
// step (two accumulators per sum: 5-10% faster than 16 floats in eight accumulators, measured on L2-sized inputs).
// Second pass, in f32: gx = A*(gy - gm) + (B*(x - mean) + C) with A = w*invStd, gm = f32(sum(gy)/M),
// B = -A*invStd*sum(gy*xhat)/M and C = A*(gm - sum(gy)/M) (what rounding gm left out), each computed in f64 and
// rounded once: centring gy keeps the rounding relative to gx when gy has a large mean (a constant gy gives gx = 0).
export function batchNormBackward(x: usize, gy: usize, n: i32, c: i32, hw: i32, mean: usize, invStd: usize, weight: usize,
  training: i32, gx: usize, gWeight: usize, gBias: usize, tid: i32, nt: i32): void {
  const count = <f64>n * <f64>hw;
  const hw4 = hw & ~3;
  for (let ch = part(c, tid, nt); ch < part(c, tid + 1, nt); ch++) {
    const m = load<f32>(addr(mean, ch)), is = <f64>load<f32>(addr(invStd, ch));
    const wv = weight != 0 ? <f64>load<f32>(addr(weight, ch)) : 1.0;
    const vm = f32x4.splat(m);
    let glo = f64x2.splat(0), ghi = glo, plo = glo, phi = glo;
    let gTail: f64 = 0, pTail: f64 = 0;
    // Vector parts, then tails, as in channelMoments: at (256,64,3) row by row took 1.3x the f64 kernel's time, this 1.0x.
    for (let b = 0; b < n && hw4 > 0; b++) {
      const off = (b * c + ch) * hw;
      const xr = addr(x, off), gr = addr(gy, off);
      for (let j = 0; j < hw4; j += BLOCK) {
        const end = min<i32>(j + BLOCK, hw4);
        let g0 = f32x4.splat(0), g1 = g0, p0 = g0, p1 = g0;
        let i = j;
        for (; i + 8 <= end; i += 8) {
          const gp = addr(gr, i), xp = addr(xr, i);
          const a0 = v128.load(gp), a1 = v128.load(gp, 16);
          g0 = f32x4.add(g0, a0);
          g1 = f32x4.add(g1, a1);
          p0 = f32x4.add(p0, f32x4.mul(a0, f32x4.sub(v128.load(xp), vm)));
          p1 = f32x4.add(p1, f32x4.mul(a1, f32x4.sub(v128.load(xp, 16), vm)));
        }
        for (; i < end; i += 4) {
          const a0 = v128.load(addr(gr, i));
          g0 = f32x4.add(g0, a0);
          p0 = f32x4.add(p0, f32x4.mul(a0, f32x4.sub(v128.load(addr(xr, i)), vm)));
        }
        const tg = f32x4.add(g0, g1), tp = f32x4.add(p0, p1);
        glo = f64x2.add(glo, promoteLow(tg));
        ghi = f64x2.add(ghi, promoteHigh(tg));
        plo = f64x2.add(plo, promoteLow(tp));
        phi = f64x2.add(phi, promoteHigh(tp));
      }
    }
    for (let b = 0; b < n && hw4 < hw; b++) {
      const off = (b * c + ch) * hw;
      for (let i = hw4; i < hw; i++) {
        const g = <f64>load<f32>(addr(gy, off + i));
        gTail += g;
        pTail += g * (<f64>load<f32>(addr(x, off + i)) - <f64>m);
      }
    }
    let sumGy = laneSum(glo, ghi) + gTail, sumGyXhat = (laneSum(plo, phi) + pTail) * is;
    if (!isFinite<f64>(sumGy) || !isFinite<f64>(sumGyXhat)) {
      // f32 block sums overflowed (or an input is not finite): the f64 sums, element by element, as the reference
      sumGy = 0;
      sumGyXhat = 0;
      for (let b = 0; b < n; b++) {
        const off = (b * c + ch) * hw;
        for (let i = 0; i < hw; i++) {
          const g = <f64>load<f32>(addr(gy, off + i));
          sumGy += g;
          sumGyXhat += g * (<f64>load<f32>(addr(x, off + i)) - <f64>m) * is;
        }
      }
    }
    store<f32>(addr(gWeight, ch), <f32>sumGyXhat);
    store<f32>(addr(gBias, ch), <f32>sumGy);
    if (training) {
      const a = wv * is, meanGy = sumGy / count, gm = <f32>meanGy;
      const A = <f32>a, B = <f32>(-a * is * sumGyXhat / count), C = <f32>(a * (<f64>gm - meanGy));
      const vA = f32x4.splat(A), vB = f32x4.splat(B), vC = f32x4.splat(C), vgm = f32x4.splat(gm);
      // Last row first: the rows the first pass read last are the ones still in cache. At (128,16,1024) a channel's x
      // and gy rows (1 MiB, at a 64 KiB stride that maps them all to the same L2 sets) do not stay in L2: 7-8% faster.
      for (let b = n - 1; b >= 0; b--) {
        const off = (b * c + ch) * hw;
        const xr = addr(x, off), gr = addr(gy, off), out = addr(gx, off);
        let i = 0;
        for (; i + 8 <= hw; i += 8) {
          const gp = addr(gr, i), xp = addr(xr, i), q = addr(out, i);
          v128.store(q, f32x4.add(f32x4.mul(vA, f32x4.sub(v128.load(gp), vgm)), f32x4.add(f32x4.mul(vB, f32x4.sub(v128.load(xp), vm)), vC)));
          v128.store(q, f32x4.add(f32x4.mul(vA, f32x4.sub(v128.load(gp, 16), vgm)), f32x4.add(f32x4.mul(vB, f32x4.sub(v128.load(xp, 16), vm)), vC)), 16);
        }
        for (; i + 4 <= hw; i += 4) {
          v128.store(addr(out, i), f32x4.add(f32x4.mul(vA, f32x4.sub(v128.load(addr(gr, i)), vgm)),
            f32x4.add(f32x4.mul(vB, f32x4.sub(v128.load(addr(xr, i)), vm)), vC)));
        }
        for (; i < hw; i++) store<f32>(addr(out, i), A * (load<f32>(addr(gr, i)) - gm) + (B * (load<f32>(addr(xr, i)) - m) + C));
      }
    } else {
      const s = <f32>(wv * is), vs = f32x4.splat(s);
      for (let b = 0; b < n; b++) {
        const off = (b * c + ch) * hw;
        const gr = addr(gy, off), out = addr(gx, off);
        let i = 0;
        for (; i + 4 <= hw; i += 4) v128.store(addr(out, i), f32x4.mul(v128.load(addr(gr, i)), vs));
        for (; i < hw; i++) store<f32>(addr(out, i), load<f32>(addr(gr, i)) * s);
      }
    }
  }
}
