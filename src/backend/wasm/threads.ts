/**
 * The worker pool of the wasm backend and its job protocol.
 *
 * All threads instantiate the same module on the same shared memory. A job is written into a control block in
 * that memory (kernel index, arguments as f64, number of chunks) and published by incrementing SEQ; every worker
 * wakes (a spin of SPIN_MS on Atomics.load, then Atomics.wait). The job's output is cut into `chunks` shares; every
 * thread, the caller included, takes the next share with a compare-and-swap on NEXT and runs
 * `kernel(...args, share, chunks)` with its own scratch memory, until none is left, and counts it in DONE. The
 * caller returns when DONE = chunks, so kernels stay synchronous for the ops. Taking shares dynamically means a
 * worker that the OS has not scheduled yet delays nothing: the caller does its shares. Kernels compute each
 * output element the same way whatever share it is in, so results never depend on who ran what.
 *
 * NEXT packs the job's generation (low bits of SEQ) above the share counter, so a worker that wakes late can never
 * take a share of a newer job with the arguments of an older one. In Node the caller sleeps in Atomics.wait after
 * a spin of SPIN_MS; on a browser main thread Atomics.wait is forbidden, so it spins on Atomics.load.
 */

// Int32 slots of the control block.
export const SEQ = 0, DONE = 1, NT = 2, KERNEL = 3, ARGC = 4, ERROR = 5, NEXT = 6, CHUNKS = 7, SCRATCH_ARG = 8, SCRATCH_STRIDE = 9;
/** Bits of NEXT that count shares (so at most 1023 shares per job); the bits above hold the job generation. */
export const SHARE_BITS = 10;
export const MAX_CHUNKS = (1 << SHARE_BITS) - 1;
/** Byte offset of the f64 argument array inside the control block, and its capacity. */
export const ARGS_BYTE = 64, MAX_ARGS = 32;
/** Byte offset of the geometry i32 array inside the control block. */
export const GEOM_BYTE = 512;
export const CONTROL_BYTES = 1024;
/**
 * Milliseconds a thread spins on the control block, after its shares are done, before it sleeps in Atomics.wait:
 * a training step or a forward pass calls kernels back to back with tens of microseconds of JavaScript between
 * them, and a worker woken from Atomics.wait takes about as long again to start (more on a virtual machine).
 * Measured on the 2-core benchmark machine (2026-11-25, 2 threads): with the old 2,000-iteration spin (about 10 us)
 * `node bench/profile.mjs --model mlp --mode infer --threads 2` showed the caller waiting for the worker 16% of
 * the time; `node --import tsx bench/peers/convkit.ts --model mlp --mode infer --backend wasm --threads 2
 * --seconds 5 --repeats 3` gave 173k images/s with a 0.01 ms spin, 202k with 0.5 ms and 198k with 2 ms (resnet20
 * training 380, 393, 392). Like OpenMP's spin-wait before
 * blocking (its default is far longer), it costs an idle worker at most this much CPU after each job.
 */
export const SPIN_MS = 0.5;

/** What a worker needs to start. Structured-cloneable (a WebAssembly.Module and a shared Memory are). */
export interface WorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  kernels: string[];
  control: number;
  tid: number;
  seq: number;
}

export interface WorkerHandle {
  /** Resolves once the worker has instantiated the module and waits for jobs. */
  ready: Promise<void>;
}

type Kernel = (...args: number[]) => unknown;

/**
 * The share loop, run by the caller and by the workers: takes shares of the job of generation `gen` until none
 * is left and returns how many it ran. Workers get it as source text (Function.prototype.toString), bound to its
 * name there explicitly (a minifier renames the function itself), so it must stay self-contained: control slots are literals here (CHUNKS 7, ARGC 4, SCRATCH_ARG 8, SCRATCH_STRIDE 9,
 * KERNEL 3, NEXT 6, ERROR 5, DONE 1) and 10 is SHARE_BITS (1023 = MAX_CHUNKS).
 */
export function convkitRunShares(ctl: Int32Array, args: Float64Array, fns: Kernel[], tid: number, gen: number): number {
  const chunks = ctl[7]!, argc = ctl[4]!, scratchArg = ctl[8]!;
  const list: number[] = new Array(argc + 2);
  for (let i = 0; i < argc; i++) list[i] = args[i]!;
  if (scratchArg >= 0) list[scratchArg] = args[scratchArg]! + tid * ctl[9]!;
  list[argc + 1] = chunks;
  const fn = fns[ctl[3]!]!;
  let ran = 0;
  for (;;) {
    const v = Atomics.load(ctl, 6);
    if (v >>> 10 !== gen || (v & 1023) >= chunks) return ran;
    if (Atomics.compareExchange(ctl, 6, v, v + 1) !== v) continue;
    list[argc] = v & 1023;
    try {
      fn.apply(null, list);
    } catch {
      Atomics.store(ctl, 5, tid + 1);
    }
    ran++;
    Atomics.add(ctl, 1, 1);
    Atomics.notify(ctl, 1);
  }
}

/** Kernel time per measuring window of an adaptive pool, the waiting fraction above which it goes solo, and for how long. */
const ADAPTIVE_WINDOW_MS = 200;
const ADAPTIVE_WAIT_LIMIT = 0.3;
const ADAPTIVE_FIRST_SOLO_MS = 1000;
const ADAPTIVE_MAX_SOLO_MS = 16_000;

/**
 * An adaptive pool's verdict on one window: how long to run solo (0: keep sharing) and the solo time after that
 * (doubling while the workers keep losing, back to the first when they win).
 */
export function adaptiveWindowVerdict(runMs: number, waitMs: number, soloMs: number): { soloForMs: number; nextSoloMs: number } {
  if (waitMs > ADAPTIVE_WAIT_LIMIT * runMs) return { soloForMs: soloMs, nextSoloMs: Math.min(soloMs * 2, ADAPTIVE_MAX_SOLO_MS) };
  return { soloForMs: 0, nextSoloMs: ADAPTIVE_FIRST_SOLO_MS };
}

/** Generation of job `seq` as stored in NEXT (the bits above the share counter). */
const GEN_MASK = (1 << (31 - SHARE_BITS)) - 1;

/** NEXT for job `seq` with every share taken: no thread can take one, whatever CHUNKS holds (the caller's first step). */
export function closeShares(ctl: Int32Array, seq: number): void {
  Atomics.store(ctl, NEXT, ((seq & GEN_MASK) << SHARE_BITS) | MAX_CHUNKS);
}

/** NEXT for job `seq` at its first share (the caller's last step before SEQ wakes the workers). */
export function openShares(ctl: Int32Array, seq: number): void {
  Atomics.store(ctl, NEXT, (seq & GEN_MASK) << SHARE_BITS);
}

/** The generation a thread passes to `convkitRunShares` for job `seq`. */
export const generationOf = (seq: number): number => seq & GEN_MASK;

/**
 * The worker's whole program, as source text, so it can start from a string in Node (`eval: true`) and from a
 * Blob URL in browsers, without a separate file to locate in src/ and dist/. `post` reports 'ready'.
 */
export const WORKER_SOURCE = String.raw`
const convkitRunShares = (${convkitRunShares.toString()});
function convkitWorkerMain(init, post) {
  const instance = new WebAssembly.Instance(init.module, { env: { memory: init.memory } });
  const fns = init.kernels.map((name) => instance.exports[name]);
  const ctl = new Int32Array(init.memory.buffer, init.control, 16);
  const args = new Float64Array(init.memory.buffer, init.control + ${ARGS_BYTE}, ${MAX_ARGS});
  const tid = init.tid;
  let seen = init.seq;
  post('ready');
  for (;;) {
    let seq = Atomics.load(ctl, ${SEQ});
    if (seq === seen) {
      const until = performance.now() + ${SPIN_MS};
      do {
        for (let spin = 0; seq === seen && spin < 256; spin++) seq = Atomics.load(ctl, ${SEQ});
      } while (seq === seen && performance.now() < until);
    }
    while (seq === seen) { Atomics.wait(ctl, ${SEQ}, seen); seq = Atomics.load(ctl, ${SEQ}); }
    seen = seq;
    if (tid < Atomics.load(ctl, ${NT})) convkitRunShares(ctl, args, fns, tid, seq & ${GEN_MASK});
  }
}
`;

/** Spawns one worker; supplied by the platform glue (worker_threads in Node, Web Workers in browsers). */
export type SpawnWorker = (init: WorkerInit) => WorkerHandle;

export class ThreadPool {
  private readonly ctl: Int32Array;
  private readonly args: Float64Array;
  private readonly workers: WorkerHandle[] = [];
  private readyWorkers = 0;
  /** Threads used by kernels (1 = the calling thread only). */
  threads = 1;
  /**
   * Whether the pool gives its threads up while they lose (the default thread count, not one the user chose): on a
   * machine whose cores are busy with other work, a worker that is descheduled in the middle of its share makes
   * the calling thread wait for it, and 2 threads trained at 2,506-3,202 images/s against 4,117-4,440 with 1
   * (issue 17, finding 10). So the pool measures, over windows of WINDOW_MS of kernel time, the fraction the
   * calling thread spends waiting for workers; above WAIT_LIMIT it runs kernels on the calling thread alone for a
   * while (1 s, doubling up to 16 s while the machine stays busy), then tries its threads again. Results do not
   * change: 1 and N threads give the same bits.
   */
  /** (See above.) */
  adaptive = false;
  private soloUntil = 0;
  private soloMs = ADAPTIVE_FIRST_SOLO_MS;
  private windowRunMs = 0;
  private windowWaitMs = 0;
  /** Kernels run on the calling thread alone because the workers lost (for tests and benchmarks). */
  soloKernels = 0;

  constructor(
    private readonly module: WebAssembly.Module,
    private readonly memory: WebAssembly.Memory,
    private readonly kernelNames: string[],
    private readonly fns: Kernel[],
    private readonly control: number,
    private readonly spawn: SpawnWorker | null,
    private readonly mainThreadMayWait: boolean,
  ) {
    this.ctl = new Int32Array(memory.buffer, control, 16);
    this.args = new Float64Array(memory.buffer, control + ARGS_BYTE, MAX_ARGS);
  }

  /** Largest thread count this platform supports (1 without workers). */
  get canSpawn(): boolean {
    return this.spawn !== null;
  }

  /**
   * Use n threads (spawning workers as needed; the pool never shrinks, idle workers sleep). `adaptive`: fall back
   * to the calling thread while the workers lose (see the field's comment); for the default thread count only.
   */
  async setThreads(n: number, options: { adaptive?: boolean } = {}): Promise<void> {
    if (!Number.isInteger(n) || n < 1) throw new Error(`wasm backend: setThreads(n) needs an integer >= 1, got ${n}`);
    if (n > 1 && !this.spawn) throw new Error('wasm backend: threads need workers and a shared memory (in browsers: a crossOriginIsolated page)');
    const pending: Promise<void>[] = [];
    while (this.workers.length < n - 1) {
      const handle = this.spawn!({
        module: this.module, memory: this.memory, kernels: this.kernelNames, control: this.control,
        tid: this.workers.length + 1, seq: Atomics.load(this.ctl, SEQ),
      });
      this.workers.push(handle);
      pending.push(handle.ready.then(() => { this.readyWorkers++; }));
    }
    await Promise.all(pending);
    this.threads = n;
    this.adaptive = options.adaptive === true && n > 1;
    this.soloUntil = 0;
    this.soloMs = ADAPTIVE_FIRST_SOLO_MS;
    this.windowRunMs = this.windowWaitMs = 0;
  }

  /** Whether kernels now run with the pool's threads (false while an adaptive pool runs solo). */
  get sharing(): boolean {
    return !(this.adaptive && performance.now() < this.soloUntil);
  }

  /**
   * Run kernel `index` with `args` cut into `chunks` shares over up to `threads` threads, and return when every
   * share is done. args[scratchArg] (when >= 0) is thread 0's scratch; thread t gets it + t*scratchStride.
   */
  run(index: number, args: number[], chunks: number, scratchArg = -1, scratchStride = 0): void {
    const fn = this.fns[index]!;
    let threads = Math.min(this.threads, this.readyWorkers + 1);
    chunks = Math.max(1, Math.min(chunks, MAX_CHUNKS));
    const started = this.adaptive ? performance.now() : 0;
    if (this.adaptive && threads > 1 && chunks > 1 && started < this.soloUntil) {
      threads = 1;
      this.soloKernels++;
    }
    if (threads === 1 || chunks === 1) {
      fn(...args, 0, 1);
      return;
    }
    if (args.length > MAX_ARGS) throw new Error(`wasm backend: too many kernel arguments (${args.length})`);
    const ctl = this.ctl;
    const seq = (ctl[SEQ]! + 1) | 0;
    // Close the shares under the new generation BEFORE writing the job: a worker that woke late for the previous
    // job (descheduled between reading SEQ and taking a share) may be reading these fields while they change; with
    // NEXT still holding the previous generation and fewer taken shares than the new CHUNKS, it used to take a share
    // with a mix of two jobs' kernel and arguments and count it in the new job's DONE, so the caller could return
    // before a real share had run (a wrong value now and then in the wasm op suite's 2-thread gradchecks, gemm
    // followed by tanh, on a loaded machine). Now its compare-and-swap fails on the generation.
    closeShares(ctl, seq);
    for (let i = 0; i < args.length; i++) this.args[i] = args[i]!;
    ctl[KERNEL] = index;
    ctl[ARGC] = args.length;
    ctl[CHUNKS] = chunks;
    ctl[SCRATCH_ARG] = scratchArg;
    ctl[SCRATCH_STRIDE] = scratchStride;
    Atomics.store(ctl, NT, threads);
    Atomics.store(ctl, DONE, 0);
    Atomics.store(ctl, ERROR, 0);
    // Only this thread writes SEQ: open the shares (NEXT at share 0 of the new generation) before waking anyone.
    openShares(ctl, seq);
    Atomics.store(ctl, SEQ, seq);
    Atomics.notify(ctl, SEQ);
    convkitRunShares(ctl, this.args, this.fns, 0, generationOf(seq));
    // Wait for shares still running in workers: they write into memory the caller is about to reuse.
    const waitFrom = this.adaptive ? performance.now() : 0;
    let done = Atomics.load(ctl, DONE);
    if (done < chunks) {
      const until = performance.now() + SPIN_MS;
      do {
        for (let spin = 0; done < chunks && spin < 256; spin++) done = Atomics.load(ctl, DONE);
      } while (done < chunks && performance.now() < until);
    }
    while (done < chunks) {
      if (this.mainThreadMayWait) Atomics.wait(ctl, DONE, done, 1000);
      done = Atomics.load(ctl, DONE);
    }
    if (this.adaptive) this.account(started, waitFrom, performance.now());
    const failed = Atomics.load(ctl, ERROR);
    if (failed !== 0) throw new Error(`wasm backend: kernel ${this.kernelNames[index]} failed in thread ${failed - 1}`);
  }

  /** One shared kernel of an adaptive pool: it ran from `started` to `ended`, waiting for workers from `waitFrom`. */
  private account(started: number, waitFrom: number, ended: number): void {
    this.windowRunMs += ended - started;
    this.windowWaitMs += ended - waitFrom;
    if (this.windowRunMs < ADAPTIVE_WINDOW_MS) return;
    const { soloForMs, nextSoloMs } = adaptiveWindowVerdict(this.windowRunMs, this.windowWaitMs, this.soloMs);
    if (soloForMs > 0) this.soloUntil = ended + soloForMs;
    this.soloMs = nextSoloMs;
    this.windowRunMs = this.windowWaitMs = 0;
  }
}
