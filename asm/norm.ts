// Batch-norm kernels. Threads split channels; per-channel sums run in f64 in the reference's order.

@inline function addr(base: usize, floats: i32): usize { return base + (<usize>floats << 2); }
@inline function part(total: i32, tid: i32, nt: i32): i32 { return <i32>((<i64>total * tid) / nt); }

// Sum of row[0..len) in f64 with four partial sums (two f64x2), combined in a fixed order.
@inline function sumRow(row: usize, len: i32): f64 {
  let s0 = f64x2.splat(0), s1 = s0;
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    const v = v128.load(addr(row, i));
    s0 = f64x2.add(s0, f64x2.promote_low_f32x4(v));
    s1 = f64x2.add(s1, f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1)));
  }
  const t = f64x2.add(s0, s1);
  let s = f64x2.extract_lane(t, 0) + f64x2.extract_lane(t, 1);
  for (; i < len; i++) s += <f64>load<f32>(addr(row, i));
  return s;
}

// Sum of (row[i] - m)^2 in f64, same scheme.
@inline function sumSquaredDeviation(row: usize, len: i32, m: f64): f64 {
  let s0 = f64x2.splat(0), s1 = s0;
  const vm = f64x2.splat(m);
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    const v = v128.load(addr(row, i));
    const d0 = f64x2.sub(f64x2.promote_low_f32x4(v), vm);
    const d1 = f64x2.sub(f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1)), vm);
    s0 = f64x2.add(s0, f64x2.mul(d0, d0));
    s1 = f64x2.add(s1, f64x2.mul(d1, d1));
  }
  const t = f64x2.add(s0, s1);
  let s = f64x2.extract_lane(t, 0) + f64x2.extract_lane(t, 1);
  for (; i < len; i++) { const d = <f64>load<f32>(addr(row, i)) - m; s += d * d; }
  return s;
}

// x is (N,C,HW): per channel mean and biased variance over N and HW; mean and variance are (C).
// Sums in f64 (partial sums per row, rows added in order), so the f32 results match the reference's.
export function channelMoments(x: usize, n: i32, c: i32, hw: i32, mean: usize, variance: usize, tid: i32, nt: i32): void {
  const count = <f64>n * <f64>hw;
  for (let ch = part(c, tid, nt); ch < part(c, tid + 1, nt); ch++) {
    let s: f64 = 0;
    for (let b = 0; b < n; b++) s += sumRow(addr(x, (b * c + ch) * hw), hw);
    const m = s / count;
    let v: f64 = 0;
    for (let b = 0; b < n; b++) v += sumSquaredDeviation(addr(x, (b * c + ch) * hw), hw, m);
    store<f32>(addr(mean, ch), <f32>m);
    store<f32>(addr(variance, ch), <f32>(v / count));
  }
}

// x and out are (N,C,HW); mean, invStd, weight, bias are (C) (weight/bias 0 = 1/0).
// out = x*scale + shift with scale = invStd*weight and shift = bias - mean*scale, in f64 (two lanes at a time).
export function batchNormApply(x: usize, n: i32, c: i32, hw: i32, mean: usize, invStd: usize, weight: usize, bias: usize,
  out: usize, tid: i32, nt: i32): void {
  for (let ch = part(c, tid, nt); ch < part(c, tid + 1, nt); ch++) {
    const scale = <f64>load<f32>(addr(invStd, ch)) * (weight != 0 ? <f64>load<f32>(addr(weight, ch)) : 1.0);
    const shift = (bias != 0 ? <f64>load<f32>(addr(bias, ch)) : 0.0) - <f64>load<f32>(addr(mean, ch)) * scale;
    const vs = f64x2.splat(scale), vh = f64x2.splat(shift);
    for (let b = 0; b < n; b++) {
      const xr = addr(x, (b * c + ch) * hw), orow = addr(out, (b * c + ch) * hw);
      let i = 0;
      for (; i + 4 <= hw; i += 4) {
        const v = v128.load(addr(xr, i));
        const lo = f64x2.add(f64x2.mul(f64x2.promote_low_f32x4(v), vs), vh);
        const hi = f64x2.add(f64x2.mul(f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1)), vs), vh);
        const rl = f32x4.demote_f64x2_zero(lo), rh = f32x4.demote_f64x2_zero(hi);
        v128.store(addr(orow, i), i64x2.shuffle(rl, rh, 0, 2));
      }
      for (; i < hw; i++) store<f32>(addr(orow, i), <f32>(<f64>load<f32>(addr(xr, i)) * scale + shift));
    }
  }
}

// x, gy, gx are (N,C,HW); mean, invStd, weight (0 = 1), gWeight, gBias are (C).
// training: gx = invStd*w/M * (M*gy - sum(gy) - xhat*sum(gy*xhat)); else gx = gy*w*invStd. All in f64.
export function batchNormBackward(x: usize, gy: usize, n: i32, c: i32, hw: i32, mean: usize, invStd: usize, weight: usize,
  training: i32, gx: usize, gWeight: usize, gBias: usize, tid: i32, nt: i32): void {
  const count = <f64>n * <f64>hw;
  for (let ch = part(c, tid, nt); ch < part(c, tid + 1, nt); ch++) {
    const m = <f64>load<f32>(addr(mean, ch)), is = <f64>load<f32>(addr(invStd, ch));
    const wv = weight != 0 ? <f64>load<f32>(addr(weight, ch)) : 1.0;
    const vm = f64x2.splat(m), vis = f64x2.splat(is);
    let sumGy: f64 = 0, sumGyXhat: f64 = 0;
    for (let b = 0; b < n; b++) {
      const off = (b * c + ch) * hw;
      // One pass over the row for both sums: sum of g (the same partial sums, in the same order, as sumRow) and
      // sum of g * (x - m) * is, each as two f64x2 partial sums, then the tail.
      let g0s = f64x2.splat(0), g1s = g0s, s0 = g0s, s1 = g0s;
      let i = 0;
      for (; i + 4 <= hw; i += 4) {
        const g = v128.load(addr(gy, off + i)), xv = v128.load(addr(x, off + i));
        const g0 = f64x2.promote_low_f32x4(g), g1 = f64x2.promote_low_f32x4(i32x4.shuffle(g, g, 2, 3, 0, 1));
        const x0 = f64x2.promote_low_f32x4(xv), x1 = f64x2.promote_low_f32x4(i32x4.shuffle(xv, xv, 2, 3, 0, 1));
        g0s = f64x2.add(g0s, g0);
        g1s = f64x2.add(g1s, g1);
        s0 = f64x2.add(s0, f64x2.mul(f64x2.mul(g0, f64x2.sub(x0, vm)), vis));
        s1 = f64x2.add(s1, f64x2.mul(f64x2.mul(g1, f64x2.sub(x1, vm)), vis));
      }
      const tg = f64x2.add(g0s, g1s);
      let sg = f64x2.extract_lane(tg, 0) + f64x2.extract_lane(tg, 1);
      const t = f64x2.add(s0, s1);
      let s = f64x2.extract_lane(t, 0) + f64x2.extract_lane(t, 1);
      for (; i < hw; i++) {
        const g = <f64>load<f32>(addr(gy, off + i));
        sg += g;
        s += g * (<f64>load<f32>(addr(x, off + i)) - m) * is;
      }
      sumGy += sg;
      sumGyXhat += s;
    }
    store<f32>(addr(gWeight, ch), <f32>sumGyXhat);
    store<f32>(addr(gBias, ch), <f32>sumGy);
    const k = wv * is / count;
    const vk = f64x2.splat(k), vcount = f64x2.splat(count), vsg = f64x2.splat(sumGy), vsgx = f64x2.splat(sumGyXhat);
    // k*(count*g - sumGy - (x - m)*is*sumGyXhat) expanded as gA*g + (xB*x + cC): 4 f64 operations per pair of
    // elements instead of 7 (the same value up to f64 rounding, far below the f32 result's precision).
    const vgA = f64x2.splat(k * count), vxB = f64x2.splat(-k * sumGyXhat * is), vcC = f64x2.splat(k * (sumGyXhat * is * m - sumGy));
    for (let b = 0; b < n; b++) {
      const off = (b * c + ch) * hw;
      let i = 0;
      for (; i + 4 <= hw; i += 4) {
        const g = v128.load(addr(gy, off + i));
        const g0 = f64x2.promote_low_f32x4(g), g1 = f64x2.promote_low_f32x4(i32x4.shuffle(g, g, 2, 3, 0, 1));
        let r0: v128, r1: v128;
        if (training) {
          const xv = v128.load(addr(x, off + i));
          const x0 = f64x2.promote_low_f32x4(xv), x1 = f64x2.promote_low_f32x4(i32x4.shuffle(xv, xv, 2, 3, 0, 1));
          r0 = f64x2.add(f64x2.mul(vgA, g0), f64x2.add(f64x2.mul(vxB, x0), vcC));
          r1 = f64x2.add(f64x2.mul(vgA, g1), f64x2.add(f64x2.mul(vxB, x1), vcC));
        } else {
          // g * wv * is, evaluated left to right like the reference
          r0 = f64x2.mul(f64x2.mul(g0, f64x2.splat(wv)), vis);
          r1 = f64x2.mul(f64x2.mul(g1, f64x2.splat(wv)), vis);
        }
        v128.store(addr(gx, off + i), i64x2.shuffle(f32x4.demote_f64x2_zero(r0), f32x4.demote_f64x2_zero(r1), 0, 2));
      }
      for (; i < hw; i++) {
        const g = <f64>load<f32>(addr(gy, off + i));
        let r: f64;
        if (training) r = (k * count) * g + ((-k * sumGyXhat * is) * <f64>load<f32>(addr(x, off + i)) + k * (sumGyXhat * is * m - sumGy));
        else r = g * wv * is;
        store<f32>(addr(gx, off + i), <f32>r);
      }
    }
  }
}
