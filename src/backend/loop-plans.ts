/**
 * Index plans for a backend's elementwise kernels, from shapes alone: a broadcast binary op as few strided dims, and
 * a reduction as (k1, r1, k2, r2) runs, with neighbouring dims merged wherever every operand steps through them as
 * one run. Shared by the backends whose kernels take such plans (wasm and native).
 */

/** Strides (in floats) of `shape` right-aligned to `outShape`, 0 where the dimension is broadcast. */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const strides = new Array<number>(outShape.length).fill(0);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[outShape.length - shape.length + i] = shape[i] === 1 ? 0 : s;
    s *= shape[i]!;
  }
  return strides;
}

/** The output dims with each input's strides (0 on broadcast dims), merged where possible; at least one dim. */
export interface BroadcastPlan { dims: number[]; sa: number[]; sb: number[] }

/**
 * out (outShape) = a (aShape) op b (bShape) as a walk over `dims` reading a and b with strides sa and sb.
 * @example planBroadcast([2, 3, 4], [4], [2, 3, 4]) // { dims: [6, 4], sa: [4, 1], sb: [0, 1] }
 */
export function planBroadcast(aShape: readonly number[], bShape: readonly number[], outShape: readonly number[]): BroadcastPlan {
  const sa0 = broadcastStrides(aShape, outShape), sb0 = broadcastStrides(bShape, outShape);
  const dims: number[] = [], sa: number[] = [], sb: number[] = [];
  for (let i = 0; i < outShape.length; i++) {
    const d = outShape[i]!;
    if (d === 1) continue;
    const last = dims.length - 1;
    // Merge into the previous dim when both inputs step through the pair as one run (contiguous or broadcast).
    if (last >= 0 && sa[last] === sa0[i]! * d && sb[last] === sb0[i]! * d) {
      dims[last]! *= d;
      sa[last] = sa0[i]!;
      sb[last] = sb0[i]!;
      continue;
    }
    dims.push(d); sa.push(sa0[i]!); sb.push(sb0[i]!);
  }
  if (dims.length === 0) return { dims: [1], sa: [0], sb: [0] };
  return { dims, sa, sb };
}

/**
 * A reduction of x (shape) over `axes` as x (k1, r1, k2, r2) -> out (k1, k2), or null when the kept and reduced
 * runs alternate more often than that.
 * @example planReduce([4, 3, 6, 5], [0, 2, 3]) // [1, 4, 3, 30]
 */
export function planReduce(shape: readonly number[], axes: readonly number[]): [number, number, number, number] | null {
  const runs: { reduced: boolean; size: number }[] = [];
  shape.forEach((d, i) => {
    if (d === 1) return;
    const reduced = axes.includes(i);
    const last = runs[runs.length - 1];
    if (last && last.reduced === reduced) last.size *= d;
    else runs.push({ reduced, size: d });
  });
  if (runs.length === 0) return [1, 1, 1, 1];
  if (runs[0]!.reduced) runs.unshift({ reduced: false, size: 1 });
  // runs now alternate K, R, K, R...
  if (runs.length > 4) return null;
  // (K, R): rows reduced as contiguous runs (a kernel's long-vector path), not as a strided column walk.
  if (runs.length === 2) return [runs[0]!.size, 1, 1, runs[1]!.size];
  const size = (i: number) => runs[i]?.size ?? 1;
  return [size(0), size(1), size(2), size(3)];
}
