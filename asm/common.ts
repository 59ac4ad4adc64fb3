// Helpers every kernel file shares (all inlined): the byte address of a float, a thread's share of a range, and an
// integer of the geometry block the host writes before a call. Kernels take byte addresses and (tid, nt), and
// compute only thread tid's share of their output.

/** Byte address of float number `floats` from `base`. */
@inline export function addr(base: usize, floats: i32): usize { return base + (<usize>floats << 2); }

/** Start of thread tid's share when nt threads split [0, total) into nearly equal ranges (tid = nt gives total). */
@inline export function part(total: i32, tid: i32, nt: i32): i32 { return <i32>((<i64>total * tid) / nt); }

/** `part` aligned to multiples of 4 floats, so SIMD loops of neighbouring threads do not overlap. */
@inline export function part4(total: i32, tid: i32, nt: i32): i32 {
  return tid >= nt ? total : min<i32>(total, part((total + 3) >> 2, tid, nt) << 2);
}

/** Integer i of the geometry block at `geom` (i32s: see each kernel file for the order the host writes). */
@inline export function gi(geom: usize, i: i32): i32 { return load<i32>(geom + (<usize>i << 2)); }

/** Zero `len` floats at `dst` (short runs such as an image row: an inline loop is cheaper than memory.fill's call). */
@inline export function zeroFloats(dst: usize, len: i32): void {
  let t = 0;
  for (; t + 4 <= len; t += 4) v128.store(addr(dst, t), f32x4.splat(0));
  for (; t < len; t++) store<f32>(addr(dst, t), 0);
}
