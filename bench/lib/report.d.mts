/** Types of report.mjs for the tests (test/bench/report.test.ts). */
export function peerDetails(info: { backend?: string; isa?: string; threads?: number; detail?: string; blas?: string }): string;
export function fmt(x: number): string;
export function machineKey(cpuText: string): string;
export function mergeWithPrevious(previous: string, markdown: string): string;
export function report(run: object): string;
export function sgemmShare(text: string | null, backend: 'wasm' | 'native'): number | null;
