/** Types of machine.mjs for the TypeScript bench scripts. */
export interface CpuDescription { model: string; cpus: number; mhz: number | null; flags: Record<string, boolean> }
export function describeCpu(): CpuDescription;
export function cpuLine(cpu?: CpuDescription): string;
export function loadAverage(): string;
