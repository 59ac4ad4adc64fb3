/**
 * JavaScript values in and out of the wasm heap: a kernel call's arguments (Marshal: heap arrays by address,
 * other arrays copied through temporary blocks) and the broadcast plan the binary kernel takes (the arrays a scope's
 * result keeps: ../scoped-arrays.ts arraysIn).
 */
import { planBroadcast, type BroadcastPlan } from '../loop-plans.js';
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

/** A broadcast pair as exactly 4 strided dims (asm/elementwise.ts binary's form); null when more remain (the reference handles it). */
export function broadcastPlan4(aShape: readonly number[], bShape: readonly number[], outShape: readonly number[]): BroadcastPlan | null {
  const { dims, sa, sb } = planBroadcast(aShape, bShape, outShape);
  if (dims.length > 4) return null;
  while (dims.length < 4) { dims.unshift(1); sa.unshift(0); sb.unshift(0); }
  return { dims, sa, sb };
}
