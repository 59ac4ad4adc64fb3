/**
 * Memory scopes for a backend whose arrays are ordinary Float32Arrays (native): inside a scope, `alloc` takes an
 * array of the same length that an earlier scope gave back, when there is one, instead of a fresh one. A training
 * step allocates the same sizes every step, so after the first step it stops paying for fresh memory (zeroed
 * pages, page faults, garbage collection of large buffers). The semantics are the wasm heap's (src/backend/wasm/heap.ts):
 * a scope's end takes back every array allocated in it except `keep`-ed ones and the arrays in its result (by
 * buffer, so subarrays keep their parent), which belong to the enclosing scope, or, outside every scope, to the
 * garbage collector. At most `maxFreeBytes` wait for reuse; the rest are left to the garbage collector.
 */

/** Float32Arrays directly in a scope's result: arrays, `{ data }` objects (tensors, with `grad.data`) and arrays of those. */
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

export class ScopedArrays {
  private readonly scopes: Float32Array[][] = [];
  private readonly free = new Map<number, Float32Array[]>();
  private readonly kept = new Set<ArrayBufferLike>();
  private freeBytes = 0;

  constructor(private readonly maxFreeBytes: number) {}

  get depth(): number {
    return this.scopes.length;
  }

  /** Bytes waiting for reuse. */
  get pooledBytes(): number {
    return this.freeBytes;
  }

  /**
   * Inside a scope: an array of n floats, zero-filled when `zero`, else with unspecified contents (an array given
   * back by an earlier scope, or `fresh(n)`), owned by the innermost scope. Outside every scope: `fresh(n)`.
   */
  alloc(n: number, zero: boolean, fresh: (n: number) => Float32Array): Float32Array {
    const scope = this.scopes[this.scopes.length - 1];
    if (!scope) return fresh(n);
    const reused = this.free.get(n)?.pop();
    let array: Float32Array;
    if (reused) {
      this.freeBytes -= n * 4;
      if (zero) reused.fill(0);
      array = reused;
    } else {
      array = fresh(n);
    }
    scope.push(array);
    return array;
  }

  keep(array: Float32Array): void {
    if (this.scopes.length > 0) this.kept.add(array.buffer);
  }

  beginScope(): void {
    this.scopes.push([]);
  }

  endScope(keep: readonly Float32Array[] = []): void {
    const scope = this.scopes.pop();
    if (!scope) throw new Error('native backend: endScope() without a matching beginScope()');
    for (const array of keep) this.kept.add(array.buffer);
    const outer = this.scopes[this.scopes.length - 1];
    for (const array of scope) {
      if (this.kept.has(array.buffer)) {
        // A kept array belongs to the enclosing scope (if any), as a value returned from a function would.
        if (outer) outer.push(array);
        continue;
      }
      const bytes = array.length * 4;
      if (this.freeBytes + bytes > this.maxFreeBytes) continue;
      let list = this.free.get(array.length);
      if (!list) this.free.set(array.length, (list = []));
      list.push(array);
      this.freeBytes += bytes;
    }
    // Kept marks of this scope's arrays are settled; marks of outer arrays (kept from inside) stay until their scope ends.
    if (!outer) this.kept.clear();
    else for (const array of scope) this.kept.delete(array.buffer);
  }

  scope<T>(fn: () => T): T {
    return runScope(this, fn);
  }
}

/** fn inside a scope of `pool` (wasm's heap or ScopedArrays): ended on a throw, and keeping the arrays of its result. */
export function runScope<T>(pool: { beginScope(): void; endScope(keep?: readonly Float32Array[]): void }, fn: () => T): T {
  pool.beginScope();
  let result: T;
  try {
    result = fn();
  } catch (e) {
    pool.endScope();
    throw e;
  }
  pool.endScope(arraysIn(result));
  return result;
}
