/**
 * JavaScript values in and out of the wasm heap: a kernel call's arguments (Marshal: heap arrays by address,
 * other arrays copied through temporary blocks), the broadcast and reduction plans the elementwise kernels take,
 * and the arrays a scope's result keeps.
 */
import type { WasmHeap } from './heap.js';

/** One kernel call's argument marshalling: heap arrays pass by address, others through temporary blocks. */
export class Marshal {
  private temps: number[] = [];
  private outputs: { array: Float32Array | Int32Array; offset: number; length: number; ptr: number }[] = [];
  constructor(private readonly heap: WasmHeap) {}

  private temp(array: Float32Array | Int32Array, offset: number, length: number, copyIn: boolean): number {
    const ptr = this.heap.allocBlock(Math.max(4, length * 4));
    this.temps.push(ptr);
    if (copyIn) {
      const view = array instanceof Int32Array ? new Int32Array(this.heap.buffer, ptr, length) : new Float32Array(this.heap.buffer, ptr, length);
      view.set(array.subarray(offset, offset + length));
    }
    return ptr;
  }

  /** Address of array[offset..offset+length) for reading. */
  in(array: Float32Array | Int32Array, offset = 0, length = array.length - offset): number {
    if (this.heap.owns(array)) return array.byteOffset + offset * 4;
    return this.temp(array, offset, length, true);
  }

  /** Address of array[offset..offset+length) for writing (read too when `reads`). */
  out(array: Float32Array | Int32Array, offset = 0, length = array.length - offset, reads = false): number {
    if (this.heap.owns(array)) return array.byteOffset + offset * 4;
    const ptr = this.temp(array, offset, length, reads);
    this.outputs.push({ array, offset, length, ptr });
    return ptr;
  }

  finish(): void {
    for (const o of this.outputs) {
      const view = o.array instanceof Int32Array ? new Int32Array(this.heap.buffer, o.ptr, o.length) : new Float32Array(this.heap.buffer, o.ptr, o.length);
      o.array.set(view, o.offset);
    }
    for (const t of this.temps) this.heap.freeBlock(t);
    this.temps = [];
    this.outputs = [];
  }
}

/** Collapse a broadcast pair to at most 4 dims with strides; null when more remain (the reference handles it). */
export function collapseBroadcast(aShape: readonly number[], bShape: readonly number[], outShape: readonly number[]):
  { dims: number[]; sa: number[]; sb: number[] } | null {
  const rank = outShape.length;
  const strides = (shape: readonly number[]): number[] => {
    const s = new Array<number>(rank).fill(0);
    let acc = 1;
    for (let i = shape.length - 1; i >= 0; i--) {
      const oi = rank - shape.length + i;
      s[oi] = shape[i] === 1 ? 0 : acc;
      acc *= shape[i]!;
    }
    return s;
  };
  const sa0 = strides(aShape), sb0 = strides(bShape);
  const dims: number[] = [], sa: number[] = [], sb: number[] = [];
  for (let i = 0; i < rank; i++) {
    const d = outShape[i]!;
    if (d === 1) continue;
    const last = dims.length - 1;
    // Merge into the previous dim when both inputs step through them as one contiguous (or broadcast) run.
    if (last >= 0 && sa[last] === sa0[i]! * d && sb[last] === sb0[i]! * d) {
      dims[last]! *= d;
      sa[last] = sa0[i]!;
      sb[last] = sb0[i]!;
      continue;
    }
    dims.push(d); sa.push(sa0[i]!); sb.push(sb0[i]!);
  }
  if (dims.length > 4) return null;
  while (dims.length < 4) { dims.unshift(1); sa.unshift(0); sb.unshift(0); }
  return { dims, sa, sb };
}

/** Reduce pattern as x (k1, r1, k2, r2) -> out (k1, k2); null when the kept/reduced runs do not fit it. */
export function collapseReduce(shape: readonly number[], axes: readonly number[]): [number, number, number, number] | null {
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
  // (K, R): reduce rows as contiguous runs (the kernel's 16-lane path), not as a strided column walk.
  if (runs.length === 2) return [runs[0]!.size, 1, 1, runs[1]!.size];
  const size = (i: number) => runs[i]?.size ?? 1;
  return [size(0), size(1), size(2), size(3)];
}

/** Float32Arrays directly in a scope's result: arrays, `{ data }` objects (tensors) and arrays of those. */
export function arraysIn(value: unknown): Float32Array[] {
  const found: Float32Array[] = [];
  const visit = (v: unknown, depth: number): void => {
    if (v instanceof Float32Array) found.push(v);
    else if (Array.isArray(v) && depth < 2) v.forEach((e) => visit(e, depth + 1));
    else if (v && typeof v === 'object' && depth < 2) {
      const data = (v as { data?: unknown; grad?: unknown }).data;
      if (data instanceof Float32Array) found.push(data);
      const grad = (v as { grad?: { data?: unknown } | null }).grad;
      if (grad && grad.data instanceof Float32Array) found.push(grad.data);
    }
  };
  visit(value, 0);
  return found;
}
