// AssemblyScript source of bench/fma/peak.mjs: the 128-bit SIMD peak with relaxed-SIMD fused multiply-add, which
// convkit's kernels do not use (they measure their mul + add peak with asm/peak.ts). The loop has 12 independent chains c = c * one + zero (one = 1, zero = 0 from the caller, so nothing folds
// and the values stay put): 12 vector ops = 96 flops per iteration.

export function peakFma(iterations: i32, one: f32, zero: f32): f32 {
  const o = f32x4.splat(one), z = f32x4.splat(zero);
  let c0 = o, c1 = o, c2 = o, c3 = o, c4 = o, c5 = o, c6 = o, c7 = o, c8 = o, c9 = o, c10 = o, c11 = o;
  for (let i = 0; i < iterations; i++) {
    c0 = f32x4.relaxed_madd(c0, o, z); c1 = f32x4.relaxed_madd(c1, o, z); c2 = f32x4.relaxed_madd(c2, o, z);
    c3 = f32x4.relaxed_madd(c3, o, z); c4 = f32x4.relaxed_madd(c4, o, z); c5 = f32x4.relaxed_madd(c5, o, z);
    c6 = f32x4.relaxed_madd(c6, o, z); c7 = f32x4.relaxed_madd(c7, o, z); c8 = f32x4.relaxed_madd(c8, o, z);
    c9 = f32x4.relaxed_madd(c9, o, z); c10 = f32x4.relaxed_madd(c10, o, z); c11 = f32x4.relaxed_madd(c11, o, z);
  }
  const s = f32x4.add(f32x4.add(f32x4.add(c0, c1), f32x4.add(c2, c3)), f32x4.add(f32x4.add(c4, c5), c6));
  const t = f32x4.add(f32x4.add(f32x4.add(c7, c8), f32x4.add(c9, c10)), c11);
  return f32x4.extract_lane(f32x4.add(s, t), 0);
}
