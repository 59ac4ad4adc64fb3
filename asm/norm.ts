// Batch-norm kernels. Threads split channels; per-channel sums run in f64 in the reference's order.

@inline function addr(base: usize, floats: i32): usize { return base + (<usize>floats << 2); }
@inline function part(total: i32, tid: i32, nt: i32): i32 { return <i32>((<i64>total * tid) / nt); }

// x is (N,C,HW): per channel mean and biased variance over N and HW; mean and variance are (C).
export function channelMoments(x: usize, n: i32, c: i32, hw: i32, mean: usize, variance: usize, tid: i32, nt: i32): void {
  const count = <f64>n * <f64>hw;
  for (let ch = part(c, tid, nt); ch < part(c, tid + 1, nt); ch++) {
    let s: f64 = 0;
    for (let b = 0; b < n; b++) {
      const row = addr(x, (b * c + ch) * hw);
      for (let i = 0; i < hw; i++) s += <f64>load<f32>(addr(row, i));
    }
    const m = s / count;
    let v: f64 = 0;
    for (let b = 0; b < n; b++) {
      const row = addr(x, (b * c + ch) * hw);
      for (let i = 0; i < hw; i++) { const d = <f64>load<f32>(addr(row, i)) - m; v += d * d; }
    }
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
// training: gx = invStd*w/M * (M*gy - sum(gy) - xhat*sum(gy*xhat)); else gx = gy*w*invStd.
export function batchNormBackward(x: usize, gy: usize, n: i32, c: i32, hw: i32, mean: usize, invStd: usize, weight: usize,
  training: i32, gx: usize, gWeight: usize, gBias: usize, tid: i32, nt: i32): void {
  const count = <f64>n * <f64>hw;
  for (let ch = part(c, tid, nt); ch < part(c, tid + 1, nt); ch++) {
    const m = <f64>load<f32>(addr(mean, ch)), is = <f64>load<f32>(addr(invStd, ch));
    const wv = weight != 0 ? <f64>load<f32>(addr(weight, ch)) : 1.0;
    let sumGy: f64 = 0, sumGyXhat: f64 = 0;
    for (let b = 0; b < n; b++) {
      const off = (b * c + ch) * hw;
      for (let i = 0; i < hw; i++) {
        const g = <f64>load<f32>(addr(gy, off + i));
        sumGy += g;
        sumGyXhat += g * (<f64>load<f32>(addr(x, off + i)) - m) * is;
      }
    }
    store<f32>(addr(gWeight, ch), <f32>sumGyXhat);
    store<f32>(addr(gBias, ch), <f32>sumGy);
    const k = wv * is / count;
    for (let b = 0; b < n; b++) {
      const off = (b * c + ch) * hw;
      for (let i = 0; i < hw; i++) {
        const g = <f64>load<f32>(addr(gy, off + i));
        let r: f64;
        if (training) {
          const xhat = (<f64>load<f32>(addr(x, off + i)) - m) * is;
          r = k * (count * g - sumGy - xhat * sumGyXhat);
        } else r = g * wv * is;
        store<f32>(addr(gx, off + i), <f32>r);
      }
    }
  }
}
