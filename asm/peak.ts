// The machine's 128-bit SIMD mul+add peak, the yardstick for the SGEMM (wasm has no FMA without relaxed-simd).
// 7 independent f32x4 multiply chains (x = x*x, x = 1) and 7 independent add chains (y = y+y, y = 0): more
// operations in flight than the pipes' latencies need, no constant operands, 14 values in registers, no
// denormals. The start values come from the caller so nothing folds. 14 vector ops = 56 flops per iteration.
export function simdPeak(iterations: i32, one: f32, zero: f32): f32 {
  let m0 = f32x4.splat(one), m1 = m0, m2 = m0, m3 = m0, m4 = m0, m5 = m0, m6 = m0;
  let a0 = f32x4.splat(zero), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0;
  for (let i = 0; i < iterations; i++) {
    m0 = f32x4.mul(m0, m0); a0 = f32x4.add(a0, a0); m1 = f32x4.mul(m1, m1); a1 = f32x4.add(a1, a1);
    m2 = f32x4.mul(m2, m2); a2 = f32x4.add(a2, a2); m3 = f32x4.mul(m3, m3); a3 = f32x4.add(a3, a3);
    m4 = f32x4.mul(m4, m4); a4 = f32x4.add(a4, a4); m5 = f32x4.mul(m5, m5); a5 = f32x4.add(a5, a5);
    m6 = f32x4.mul(m6, m6); a6 = f32x4.add(a6, a6);
  }
  const s = f32x4.add(f32x4.add(f32x4.add(m0, m1), f32x4.add(m2, m3)), f32x4.add(f32x4.add(m4, m5), m6));
  const t = f32x4.add(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)), f32x4.add(f32x4.add(a4, a5), a6));
  return f32x4.extract_lane(f32x4.add(s, t), 0);
}
