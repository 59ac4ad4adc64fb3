/**
 * The worker pool of the wasm backend and its job protocol.
 *
 * All threads instantiate the same module on the same shared memory. A job is written into a control block in
 * that memory (kernel index, thread count, arguments as f64) and published by incrementing SEQ; every worker
 * wakes (a short spin on Atomics.load, then Atomics.wait), runs `kernel(...args, tid, nt)` when tid < nt, and
 * increments DONE. The calling thread runs share 0 itself, then waits until DONE = nt-1, so kernels stay
 * synchronous for the ops. In Node the main thread sleeps in Atomics.wait after a short spin; on a browser main
 * thread Atomics.wait is forbidden, so it spins on Atomics.load (workers finish within the kernel's runtime).
 */

// Int32 slots of the control block.
export const SEQ = 0, DONE = 1, NT = 2, KERNEL = 3, ARGC = 4, ERROR = 5;
/** Byte offset of the f64 argument array inside the control block, and its capacity. */
export const ARGS_BYTE = 64, MAX_ARGS = 32;
/** Byte offset of the geometry i32 array inside the control block. */
export const GEOM_BYTE = 512;
export const CONTROL_BYTES = 1024;

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

/**
 * The worker's whole program, as source text, so it can start from a string in Node (`eval: true`) and from a
 * Blob URL in browsers, without a separate file to locate in src/ and dist/. `post` reports 'ready'.
 */
export const WORKER_SOURCE = String.raw`
function convkitWorkerMain(init, post) {
  const SEQ = ${SEQ}, DONE = ${DONE}, NT = ${NT}, KERNEL = ${KERNEL}, ARGC = ${ARGC}, ERROR = ${ERROR};
  const instance = new WebAssembly.Instance(init.module, { env: { memory: init.memory } });
  const fns = init.kernels.map((name) => instance.exports[name]);
  const ctl = new Int32Array(init.memory.buffer, init.control, 16);
  const args = new Float64Array(init.memory.buffer, init.control + ${ARGS_BYTE}, ${MAX_ARGS});
  const tid = init.tid;
  let seen = init.seq;
  post('ready');
  for (;;) {
    let seq = Atomics.load(ctl, SEQ);
    for (let spin = 0; seq === seen && spin < 20000; spin++) seq = Atomics.load(ctl, SEQ);
    while (seq === seen) { Atomics.wait(ctl, SEQ, seen); seq = Atomics.load(ctl, SEQ); }
    seen = seq;
    const nt = Atomics.load(ctl, NT);
    if (tid >= nt) continue;
    try {
      const argc = ctl[ARGC], list = new Array(argc + 2);
      for (let i = 0; i < argc; i++) list[i] = args[i];
      list[argc] = tid; list[argc + 1] = nt;
      fns[ctl[KERNEL]].apply(null, list);
    } catch (e) {
      Atomics.store(ctl, ERROR, tid);
    }
    Atomics.add(ctl, DONE, 1);
    Atomics.notify(ctl, DONE);
  }
}
`;

/** Spawns one worker; supplied by the platform glue (worker_threads in Node, Web Workers in browsers). */
export type SpawnWorker = (init: WorkerInit) => WorkerHandle;

type Kernel = (...args: number[]) => unknown;

export class ThreadPool {
  private readonly ctl: Int32Array;
  private readonly args: Float64Array;
  private readonly workers: WorkerHandle[] = [];
  private readyWorkers = 0;
  /** Threads used by kernels (1 = the calling thread only). */
  threads = 1;

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

  /** Use n threads (spawning workers as needed; the pool never shrinks, idle workers sleep). */
  async setThreads(n: number): Promise<void> {
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
  }

  /** Run kernel `index` with `args` on min(nt, threads) threads and return when every share is done. */
  run(index: number, args: number[], nt: number): void {
    nt = Math.max(1, Math.min(nt, this.threads, this.readyWorkers + 1));
    const fn = this.fns[index]!;
    if (nt === 1) {
      fn(...args, 0, 1);
      return;
    }
    if (args.length > MAX_ARGS) throw new Error(`wasm backend: too many kernel arguments (${args.length})`);
    const ctl = this.ctl;
    for (let i = 0; i < args.length; i++) this.args[i] = args[i]!;
    ctl[KERNEL] = index;
    ctl[ARGC] = args.length;
    Atomics.store(ctl, NT, nt);
    Atomics.store(ctl, DONE, 0);
    Atomics.store(ctl, ERROR, 0);
    Atomics.add(ctl, SEQ, 1);
    Atomics.notify(ctl, SEQ);
    let failure: unknown = null;
    try {
      fn(...args, 0, nt);
    } catch (e) {
      failure = e;
    }
    // Always wait for the workers: they write into memory the caller is about to reuse.
    const want = nt - 1;
    let done = Atomics.load(ctl, DONE);
    for (let spin = 0; done < want && spin < 20000; spin++) done = Atomics.load(ctl, DONE);
    while (done < want) {
      if (this.mainThreadMayWait) Atomics.wait(ctl, DONE, done, 1000);
      done = Atomics.load(ctl, DONE);
    }
    if (failure) throw failure;
    const failedTid = Atomics.load(ctl, ERROR);
    if (failedTid !== 0) throw new Error(`wasm backend: kernel ${this.kernelNames[index]} failed in worker ${failedTid}`);
  }
}
