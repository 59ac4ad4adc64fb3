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
  override subarray(begin?: number, end?: number): WasmFloat32Array {
    const view = super.subarray(begin, end) as WasmFloat32Array;
    view.owner = this.owner ?? this;
    return view;
  }
}

interface BlockTicket { offset: number; generation: number }
interface LiveBlock { size: number; generation: number; kept: boolean }

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
  /** Fill returned blocks with NaN, so a use after free shows up in results (a debugging aid, off by default). */
  poisonFreed = false;
  private trackedSinceCollect = 0;

  constructor(memory: WebAssembly.Memory, heapStart: number) {
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
        const pages = Math.max(Math.ceil((end - have) / PAGE), Math.ceil(have / PAGE / 8));
        try {
          this.memory.grow(pages);
        } catch {
          throw new Error(`wasm backend: out of memory growing the heap to ${Math.round((have + pages * PAGE) / 2 ** 20)} MiB ` +
            `(live blocks: ${Math.round(this.liveBytes / 2 ** 20)} MiB); release tensors or use scope()`);
        }
      }
      this.top = end;
    }
    const generation = ++this.generation;
    this.live.set(offset, { size, generation, kept: false });
    this.liveBytes += size;
    return offset;
  }

  /** Return a block by offset; ignored unless `generation` (when given) matches the live allocation. */
  freeBlock(offset: number, generation?: number): void {
    const block = this.live.get(offset);
    if (!block || (generation !== undefined && block.generation !== generation)) return;
    this.live.delete(offset);
    this.liveBytes -= block.size;
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
    if (this.zeroBytes) this.zeroBytes(offset, n * 4);
    else array.fill(0);
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
