/**
 * What a speed figure was measured on: the CPU (lscpu's model name and the SIMD flags that decide native and
 * wasm speed) and how busy the machine was. Print these beside every figure: the same machine kind has been an
 * AMD EPYC and an Intel Xeon, with and without AVX-512, and other work shares the cores.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';

/** The CPU flags that decide the native backend's level and the peers' kernels, in the order printed. */
export const SIMD_FLAGS = ['avx512f', 'avx2', 'fma'];

/**
 * The CPU: lscpu's "Model name" (else /proc/cpuinfo's, else Node's), logical CPUs, MHz, and which of
 * SIMD_FLAGS it has.
 * @example
 * const cpu = describeCpu(); // { model: 'AMD EPYC', cpus: 2, mhz: 2596, flags: { avx512f: false, avx2: true, fma: true } }
 */
export function describeCpu() {
  const lscpu = spawnSync('lscpu', { encoding: 'utf8' });
  const field = (name) => (lscpu.status === 0 ? lscpu.stdout.match(new RegExp(`^${name}:\\s*(.*)$`, 'm'))?.[1]?.trim() : undefined);
  const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const model = field('Model name') ?? cpuinfo.match(/^model name\s*:\s*(.*)$/m)?.[1] ?? cpus()[0]?.model ?? '?';
  const flagList = (field('Flags') ?? cpuinfo.match(/^flags\s*:\s*(.*)$/m)?.[1] ?? '').split(/\s+/);
  const mhz = Number(cpuinfo.match(/^cpu MHz\s*:\s*(.*)$/m)?.[1] ?? field('CPU MHz') ?? NaN);
  return {
    model,
    cpus: availableParallelism(),
    mhz: Number.isFinite(mhz) ? Math.round(mhz) : null,
    flags: Object.fromEntries(SIMD_FLAGS.map((f) => [f, flagList.includes(f)])),
  };
}

/** One line: "AMD EPYC, 2 CPUs, 2596 MHz; avx2 fma, no avx512f". */
export function cpuLine(cpu = describeCpu()) {
  const has = SIMD_FLAGS.filter((f) => cpu.flags[f]);
  const lacks = SIMD_FLAGS.filter((f) => !cpu.flags[f]);
  const simd = [has.join(' '), lacks.length ? `no ${lacks.join(', no ')}` : ''].filter(Boolean).join(', ');
  return `${cpu.model}, ${cpu.cpus} CPUs${cpu.mhz ? `, ${cpu.mhz} MHz` : ''}; ${simd}`;
}

/** The 1-, 5- and 15-minute load averages, as "2.31 3.54 4.66". */
export function loadAverage() {
  return loadavg().map((v) => v.toFixed(2)).join(' ');
}
