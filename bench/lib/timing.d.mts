/** Types of timing.mjs for the TypeScript peer (bench/peers/convkit.ts). */
export interface CellArgs {
  model: string; mode: string; seconds: number; repeats: number; warmup: number; maxStep: number;
  batch: number; threads: number; backend: string; info: boolean;
}
export interface Measurement {
  imagesPerSec: number; runs: number[]; measuredBatch: number; steps: number; estimate: boolean; note?: string;
  wallSeconds?: number; cpuSeconds?: number;
}
export function measure(step: (n: number) => unknown, batch: number, options: { seconds: number; repeats: number; warmup: number; maxStep: number }): Promise<Measurement>;
export function median(values: readonly number[]): number;
export function cellArgs(argv?: readonly string[]): CellArgs;
export const INPUT_SHAPES: Record<string, [number, number, number]>;
export const TRAIN_BATCH: Record<string, number>;
export const PARAM_COUNTS: Record<string, number>;
export function randomInputs(model: string, batch: number, seed?: number): { x: Float32Array; y: Int32Array; shape: [number, number, number, number] };
export function emit(result: object): void;
