/**
 * The wasm backend's allocator over one shared, growable WebAssembly.Memory.
 *
 * Blocks come from size classes (4 per power of two, 64-byte aligned) with one free list per class, and a bump
 * pointer that grows the memory when the lists are empty. A block returns to its list when:
 * - `release(array)` frees it explicitly (the tape, the trainer, a kernel's temporaries),
 * - the scope it was allocated in ends (`scope(fn)` / `beginScope()` + `endScope()`), unless kept,
 * - the FinalizationRegistry reports that the array handed out (and every subarray of it) was collected.
 * A block freed twice, or freed after reuse, is ignored thanks to a generation number per allocation.
 *
 * Finalization needs two things a plain synchronous loop never provides: a garbage collection (the arrays are
 * tiny JS objects, so V8 sees no pressure), and a return to the event loop (finalization callbacks run as
 * tasks). For the first, after every max(4 MiB, memory/4) of blocks that only finalization can return
 * (allocated outside any scope, or kept past their scope) it asks the host for a collection (`collectGarbage`,
 * available in Node); the second is up to the loop (`await` a timer now and then). A loop that never yields must
 * use scopes, which free deterministically. (The backend's alloc() only uses the heap inside scopes; see index.ts.)
 *
 * Views: a SharedArrayBuffer never detaches, so arrays made before `memory.grow` stay valid; but each grow gives
 * `memory.buffer` a new SharedArrayBuffer object, so "is this array ours" is answered with a set of every buffer
 * object the memory has had, not `arr.buffer === memory.buffer`.
 */

/** A Float32Array whose storage is a block of the wasm heap; its subarrays keep it (and so the block) alive. */
export class WasmFloat32Array extends Float32Array {
  /**
   * The array a subarray was cut from: holding it keeps the block from being finalized under the view.
   * (`declare`: no initializer, so constructing the arrays the heap hands out stays as cheap as a plain view.)
   */
  declare owner?: Float32Array;

  /**
   * Copies (slice, map, filter) are plain Float32Arrays: they live in ordinary memory, not in the heap, and so
   * compare equal (deepStrictEqual checks prototypes) to any Float32Array of the same values.
   */
  static get [Symbol.species](): Float32ArrayConstructor {
    return Float32Array;
  }

  /** A view of elements begin..end that keeps this array's block alive (built here: species gives plain arrays). */
  override subarray(begin = 0, end = this.length): WasmFloat32Array {
    const clamp = (i: number): number => {
      const t = Math.trunc(i) || 0;
      return t < 0 ? Math.max(this.length + t, 0) : Math.min(t, this.length);
    };
    const from = clamp(begin), to = clamp(end);
    const view = new WasmFloat32Array(this.buffer, this.byteOffset + from * 4, Math.max(to - from, 0));
    view.owner = this.owner ?? this;
    return view;
  }
}

interface BlockTicket { offset: number; generation: number }
interface LiveBlock { size: number; generation: number; kept: boolean; persistent: boolean }

/** Thrown by allocBlock when the memory cannot grow (its maximum, or `growLimitBytes`, is reached). */
export class WasmOutOfMemoryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WasmOutOfMemoryError';
  }
}

const PAGE = 65536;
const ALIGN = 64;
/** Bytes of finalizable arrays handed out between two garbage collections the heap asks for (at least). */
const COLLECT_AFTER_BYTES = 4 * 2 ** 20;

/** Size class in bytes for a request of `bytes`: 64-byte multiples, at most 25% above the request. */
export function sizeClass(bytes: number): number {
  if (bytes <= 256) return Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
  const step = Math.max(ALIGN, 2 ** (Math.floor(Math.log2(bytes - 1)) - 2));
  return Math.ceil(bytes / step) * step;
}

export class WasmHeap {
  readonly memory: WebAssembly.Memory;
  private readonly buffers = new WeakSet<ArrayBufferLike>();
  private currentBuffer: ArrayBufferLike;
  private top: number;
  private readonly freeLists = new Map<number, number[]>();
  private readonly live = new Map<number, LiveBlock>();
  private generation = 0;
  private readonly scopes: number[][] = [];
  private readonly registry: FinalizationRegistry<BlockTicket>;
  /** Bytes in live blocks (handed out and not yet returned). */
  liveBytes = 0;
  /** Forces a full garbage collection (so finalization can return blocks), when the host offers one. */
  collectGarbage: (() => void) | null = null;
  /** Zeroes bytes of the memory (the wasm module's memory.fill: TypedArray.fill is slow on shared buffers). */
  zeroBytes: ((offset: number, bytes: number) => void) | null = null;
  /**
   * Fill returned blocks and uninitialised allocations with NaN, so a use after free or a read of an element no
   * kernel wrote shows up in results (a debugging aid, off by default; the wasm op suite turns it on).
   */
  poisonFreed = false;
  private trackedSinceCollect = 0;
  /**
   * The memory never grows past this many bytes (besides its own maximum): an allocation that would need more
   * throws WasmOutOfMemoryError, and a persistent one falls back to a GC-owned array. Infinity by default;
   * embedders cap the wasm memory with it, and tests use it to provoke a full heap.
   */
  growLimitBytes = Infinity;
  /** Bytes in live persistent blocks (allocPersistent: parameters, optimizer state). */
  persistentBytes = 0;
  /**
   * allocPersistent hands out heap blocks only while `persistentBytes` stays within this budget, then GC-owned
   * arrays: persistent blocks come back by finalization alone, which a synchronous loop that builds model after
   * model never lets run, so without a budget such a loop would fill the wasm memory (which never shrinks).
   */
  persistentBudgetBytes: number;

  constructor(memory: WebAssembly.Memory, heapStart: number, persistentBudgetBytes = 2 ** 30) {
    this.persistentBudgetBytes = persistentBudgetBytes;
    this.memory = memory;
    this.currentBuffer = memory.buffer;
    this.buffers.add(this.currentBuffer);
    this.top = Math.ceil(heapStart / ALIGN) * ALIGN;
    this.registry = new FinalizationRegistry((t: BlockTicket) => this.freeBlock(t.offset, t.generation));
  }

  /** The memory's current buffer (refreshed after growth). */
  get buffer(): ArrayBufferLike {
    if (this.memory.buffer !== this.currentBuffer) {
      this.currentBuffer = this.memory.buffer;
      this.buffers.add(this.currentBuffer);
    }
    return this.currentBuffer;
  }

  /** True when `array` is a view of this heap's memory (before or after any growth). */
  owns(array: ArrayBufferView): boolean {
    return this.buffers.has(array.buffer) || (this.buffer === array.buffer);
  }

  /** Total bytes of the wasm memory. */
  get memoryBytes(): number {
    return this.memory.buffer.byteLength;
  }

  /** Reserve a raw block (not tracked by finalization or scopes); returns its byte offset. */
  allocBlock(bytes: number): number {
    const size = sizeClass(Math.max(bytes, 1));
    const list = this.freeLists.get(size);
    let offset = list && list.length > 0 ? list.pop()! : -1;
    if (offset < 0) {
      offset = this.top;
      const end = offset + size;
      const have = this.memory.buffer.byteLength;
      if (end > have) {
        // Grow by at least 1/8 of the memory so many small allocations do not grow one page at a time.
        const needed = Math.ceil((end - have) / PAGE);
        const room = Math.floor((this.growLimitBytes - have) / PAGE);
        const pages = Math.max(needed, Math.min(Math.ceil(have / PAGE / 8), room));
        try {
          if (needed > room) throw new RangeError('growLimitBytes');
          try {
            this.memory.grow(pages);
          } catch (e) {
            // Near the memory's maximum the 1/8 margin may not fit where the block itself does.
            if (pages === needed) throw e;
            this.memory.grow(needed);
          }
        } catch {
          throw new WasmOutOfMemoryError(`wasm backend: out of memory growing the heap to ${Math.round((have + pages * PAGE) / 2 ** 20)} MiB ` +
            `(live blocks: ${Math.round(this.liveBytes / 2 ** 20)} MiB); release tensors or use scope()`);
        }
      }
      this.top = end;
    }
    const generation = ++this.generation;
    this.live.set(offset, { size, generation, kept: false, persistent: false });
    this.liveBytes += size;
    return offset;
  }

  /** Return a block by offset; ignored unless `generation` (when given) matches the live allocation. */
  freeBlock(offset: number, generation?: number): void {
    const block = this.live.get(offset);
    if (!block || (generation !== undefined && block.generation !== generation)) return;
    this.live.delete(offset);
    this.liveBytes -= block.size;
    if (block.persistent) this.persistentBytes -= block.size;
    if (this.poisonFreed) new Float32Array(this.buffer, offset, block.size / 4).fill(NaN);
    let list = this.freeLists.get(block.size);
    if (!list) this.freeLists.set(block.size, (list = []));
    list.push(offset);
  }

  /**
   * A zero-filled Float32Array of n floats in the heap, tracked by finalization and (unless `unscoped`) the current
   * scope. Unscoped blocks (long-lived state such as optimizer moments) only come back by finalization or release().
   */
  alloc(n: number, unscoped = false): Float32Array {
    return this.allocTracked(n, true, unscoped);
  }

  /**
   * Like alloc, but the contents are whatever the block held before (NaN in poison mode, so a kernel that reads an
   * element it did not write shows up in results): for outputs a kernel overwrites entirely, which saves zeroing.
   */
  allocUninitialized(n: number): Float32Array {
    return this.allocTracked(n, false, false);
  }

  /**
   * A zero-filled array of n floats for long-lived data (parameters, optimizer state): a heap block outside every
   * scope, returned only when the FinalizationRegistry sees the array collected (or by release()). Null when the
   * block would take `persistentBytes` past `persistentBudgetBytes` or the memory cannot grow: the caller then
   * uses a GC-owned array, which kernels copy in and out (slower, never wrong).
   */
  allocPersistent(n: number): Float32Array | null {
    if (n === 0) return new Float32Array(0);
    const size = sizeClass(n * 4);
    if (this.persistentBytes + size > this.persistentBudgetBytes) return null;
    let array: Float32Array;
    try {
      array = this.allocTracked(n, true, true);
    } catch (e) {
      if (e instanceof WasmOutOfMemoryError) return null;
      throw e;
    }
    this.live.get(array.byteOffset)!.persistent = true;
    this.persistentBytes += size;
    return array;
  }

  private allocTracked(n: number, zero: boolean, unscoped: boolean): Float32Array {
    if (n === 0) return new Float32Array(0);
    // Blocks of a scope come back when it ends: only count those that rely on finalization.
    if (this.scopes.length === 0 || unscoped) this.trackedSinceCollect += n * 4;
    if (this.collectGarbage && this.trackedSinceCollect > Math.max(COLLECT_AFTER_BYTES, this.memoryBytes / 4)) {
      // Many finalizable arrays were handed out since the last collection: let the collector find the dead ones
      // well before the heap runs out. Their blocks come back when the loop next yields to the event loop.
      this.trackedSinceCollect = 0;
      this.collectGarbage();
    }
    const offset = this.allocBlock(n * 4);
    const array = new WasmFloat32Array(this.buffer as ArrayBuffer, offset, n);
    if (zero) {
      if (this.zeroBytes) this.zeroBytes(offset, n * 4);
      else array.fill(0);
    } else if (this.poisonFreed) {
      array.fill(NaN);
    }
    const generation = this.live.get(offset)!.generation;
    this.registry.register(array, { offset, generation });
    const scope = unscoped ? undefined : this.scopes[this.scopes.length - 1];
    if (scope) scope.push(offset, generation);
    return array;
  }

  /** Free the block under `array` now. The caller promises nothing reads the array (or its subarrays) again. */
  release(array: Float32Array): void {
    if (array.length === 0 || !this.owns(array)) return;
    const block = this.live.get(array.byteOffset);
    if (block) this.freeBlock(array.byteOffset, block.generation);
  }

  /** Mark `array`'s block as outliving the scope it was allocated in. */
  keep(array: Float32Array): void {
    if (array.length === 0 || !this.owns(array)) return;
    const block = this.live.get(array.byteOffset);
    if (block) block.kept = true;
  }

  beginScope(): void {
    this.scopes.push([]);
  }

  /** End the innermost scope: free every block allocated in it that was not kept (nor listed in `keep`). */
  endScope(keep: readonly Float32Array[] = []): void {
    const scope = this.scopes.pop();
    if (!scope) throw new Error('wasm backend: endScope() without a matching beginScope()');
    for (const array of keep) this.keep(array);
    const outer = this.scopes[this.scopes.length - 1];
    for (let i = 0; i < scope.length; i += 2) {
      const offset = scope[i]!, generation = scope[i + 1]!;
      const block = this.live.get(offset);
      if (!block || block.generation !== generation) continue;
      if (block.kept) {
        // A kept block belongs to the enclosing scope (if any), as a value returned from a function would.
        block.kept = false;
        if (outer) outer.push(offset, generation);
        else this.trackedSinceCollect += block.size; // from now on only finalization returns it
        continue;
      }
      this.freeBlock(offset, generation);
    }
  }

  get scopeDepth(): number {
    return this.scopes.length;
  }
}

/** The shared memory and its maximum size in bytes. */
export function createSharedMemory(): { memory: WebAssembly.Memory; maximumBytes: number } {
  // 4 GiB of address space (wasm32's limit) where the host allows it; shared memories reserve their maximum.
  for (const maximum of [65536, 16384, 4096]) {
    try {
      return { memory: new WebAssembly.Memory({ initial: 64, maximum, shared: true }), maximumBytes: maximum * 65536 };
    } catch { /* try a smaller reservation */ }
  }
  throw new Error('wasm backend: this host cannot create a shared WebAssembly.Memory ' +
    '(in browsers the page must be crossOriginIsolated: serve it with COOP same-origin and COEP require-corp)');
}
