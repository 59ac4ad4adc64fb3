/**
 * Seeded mulberry32 uniforms and Box-Muller normals for the micro-benchmarks. Not a linear congruential generator:
 * with one, bench/batchnorm-accuracy.ts's x and gy came out correlated (gWeight ~4 standard deviations from 0 in
 * every channel, and the rounding of the products gy*(x - mean) piled up instead of averaging out).
 */
export function mulberry32(seed: number): { uniform: () => number; normal: () => number } {
  let state = seed | 0;
  const uniform = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  const normal = (): number => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  return { uniform, normal };
}
