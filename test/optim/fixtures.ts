/**
 * Readers for test/fixtures/optim (written by tools/gen_optim_fixtures.py with PyTorch):
 * the 16 real Fashion-MNIST images, the optimizer trajectories and the scheduler sequences.
 */
import { readFileSync } from 'node:fs';
import { Tensor } from '../../src/tensor/tensor.js';
import * as nn from '../../src/nn/index.js';

const DIR = new URL('../fixtures/optim/', import.meta.url);

export interface TensorRef { shape: number[]; offset: number }
export interface TrajectoryRun {
  name: string;
  optimizer: 'SGD' | 'Adam' | 'AdamW';
  options: Record<string, number | boolean | number[]>;
  scheduler: 'StepLR' | 'CosineAnnealingLR' | 'OneCycleLR' | 'MultiStepLR';
  schedulerOptions: Record<string, number | number[]>;
  losses: number[];
  lrs: number[];
  final: Record<string, TensorRef>;
}
export interface Trajectories {
  steps: number;
  input: TensorRef;
  labels: number[];
  initial: Record<string, TensorRef>;
  runs: TrajectoryRun[];
}

export function loadTrajectories(): { meta: Trajectories; tensor: (ref: TensorRef) => Tensor; stateDict: (refs: Record<string, TensorRef>) => Record<string, Tensor> } {
  const meta = JSON.parse(readFileSync(new URL('trajectories.json', DIR), 'utf8')) as Trajectories;
  const buf = readFileSync(new URL('trajectories.bin', DIR));
  const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  const tensor = (ref: TensorRef): Tensor => {
    const n = ref.shape.reduce((a, b) => a * b, 1);
    return new Tensor(all.slice(ref.offset, ref.offset + n), ref.shape);
  };
  const stateDict = (refs: Record<string, TensorRef>): Record<string, Tensor> =>
    Object.fromEntries(Object.entries(refs).map(([k, r]) => [k, tensor(r)]));
  return { meta, tensor, stateDict };
}

/** 16 real Fashion-MNIST training images (the first 16 of the training set) and their labels. */
export function loadFmnist16(): { pixels: Uint8Array; labels: Int32Array } {
  const buf = readFileSync(new URL('fmnist16.bin', DIR));
  if (buf.length !== 16 + 16 * 784) throw new Error(`fmnist16.bin: expected ${16 + 16 * 784} bytes, got ${buf.length}`);
  return { labels: Int32Array.from(buf.subarray(0, 16)), pixels: new Uint8Array(buf.subarray(16)) };
}

export interface SchedulerCase {
  scheduler: string;
  options: Record<string, unknown>;
  optimizer: 'sgd' | 'sgd2' | 'adam';
  lrs: number[][];
  momentum: number[];
}
export function loadSchedulerCases(): SchedulerCase[] {
  return JSON.parse(readFileSync(new URL('schedulers.json', DIR), 'utf8')) as SchedulerCase[];
}

/** The fixture model: conv(1->4, 3x3, pad 1, no bias) - BN(4) - ReLU - maxpool 2 - Linear(784, 10). */
export class SmallCNN extends nn.Module {
  readonly features = this.registerModule('features', new nn.Sequential(
    new nn.Conv2d(1, 4, 3, { padding: 1, bias: false }), new nn.BatchNorm2d(4), new nn.ReLU(), new nn.MaxPool2d(2),
  ));
  readonly classifier = this.registerModule('classifier', new nn.Linear(4 * 14 * 14, 10));
  forward(x: Tensor): Tensor {
    return this.classifier.forward(this.features.forward(x).flatten(1));
  }
}

/**
 * Largest |a - b| / (|b| + floor) over a tensor. The floor, 1% of the tensor's largest magnitude, keeps
 * elements that pass near zero (where float32 rounding is all that is left) from dominating.
 */
export function maxRelativeError(actual: Float32Array, expected: Float32Array): number {
  let scale = 0;
  for (const v of expected) scale = Math.max(scale, Math.abs(v));
  const floor = 1e-2 * scale + 1e-12;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!) / (Math.abs(expected[i]!) + floor));
  return worst;
}
