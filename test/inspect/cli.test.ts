// `convkit summary`, `convkit ledger` and `convkit models`, called in process through the CLI's main().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from '../../src/cli/main.js';

interface Run { code: number; stdout: string; stderr: string }

async function cli(...args: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const out = { write: (s: string) => { stdout += s; return true; } } as unknown as NodeJS.WritableStream;
  const err = { write: (s: string) => { stderr += s; return true; } } as unknown as NodeJS.WritableStream;
  const code = await main(args, { out, err, env: {}, cwd: process.cwd() });
  return { code, stdout, stderr };
}

function usageError(r: Run, pattern: RegExp): void {
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, pattern);
}

test('convkit ledger --input 200x200x3 --dense 1000: dense 120,001,000 beside locally connected and conv', async () => {
  const r = await cli('ledger', '--input', '200x200x3', '--dense', '1000');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^dense +1,000 +120,000 +120,000,000 +1,000 +120,001,000 +120,000,000$/m);
  assert.match(r.stdout, /^locally connected +1,000 +1,200 +1,200,000 +1,000 +1,201,000 +1,200,000$/m);
  assert.match(r.stdout, /^conv +1,000 +1,200 +12,000 +10 +12,010 +1,200,000$/m);
  const json = JSON.parse((await cli('ledger', '--input', '3x200x200', '--json')).stdout) as { dense: { params: number }; conv: { params: number } };
  assert.equal(json.dense.params, 120_001_000);
  assert.equal(json.conv.params, 12_010);
  const noBias = JSON.parse((await cli('ledger', '--json', '--no-bias')).stdout) as { dense: { params: number } };
  assert.equal(noBias.dense.params, 120_000_000);
});

test('convkit ledger --model: a zoo model against the dense network of the same widths', async () => {
  const r = await cli('ledger', '--model', 'lenet5');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^features\.0 +Conv2d +784 +4,704 +156 +122,304 +3,692,640$/m);
  assert.match(r.stdout, /^total +61,706 /m);
  usageError(await cli('ledger', '--model', 'lenet5', '--dense', '10'), /--dense applies to the single-layer ledger/);
  usageError(await cli('ledger', '--input', '28x28', '--kernel', '3'), /1000 units do not divide evenly over a 26x26 output grid/);
  usageError(await cli('ledger', '--input', '28by28'), /--input 28by28: expected CxHxW/);
});

test('convkit summary: table, depth, JSON, and one-line errors', async () => {
  const r = await cli('summary', '--model', 'resnet50', '--input', '3x224x224', '--depth', '1');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Total params: +25,557,032/);
  assert.match(r.stdout, /MACs per image: +4,089,184,256 \(4\.09 G\)/);
  assert.doesNotMatch(r.stdout, /layer1\.0/);
  const vgg = JSON.parse((await cli('summary', '--model', 'vgg16', '--json')).stdout) as { totalMacs: number; totalParams: number; rows: { path: string; receptiveField: { size: number[] } }[] };
  assert.equal(vgg.totalMacs, 15_470_264_320);
  assert.equal(vgg.totalParams, 138_357_544);
  assert.deepEqual(vgg.rows.find((x) => x.path === 'features.30')!.receptiveField.size, [212, 212]);
  const small = await cli('summary', '--model', 'resnet20', '--input', '32x32x3', '--classes', '100');
  assert.match(small.stdout, /output \[1, 100\]/);
  usageError(await cli('summary'), /--model NAME is required/);
  usageError(await cli('summary', '--model', 'resnet9000'), /--model resnet9000: unknown model \(available: mlp, lenet5/);
  usageError(await cli('summary', '--model', 'alexnet', '--input', '3x32x32'), /--model alexnet --input 3x32x32: MaxPool2d in features\.12/);
  usageError(await cli('summary', '--model', 'lenet5', '--depth', '0'), /--depth must be at least 1/);
});

test('convkit models lists the registry with parameter counts and MACs', async () => {
  const r = await cli('models', '--long');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^ {4}He et al\. \(2015\): skip connections/m);
  assert.match(r.stdout, /^resnet50 +25,557,032 +4\.09 G +3x224x224 /m);
  assert.match(r.stdout, /^lenet5 +61,706 +416\.52 K +1x28x28 /m);
  assert.match(r.stdout, /^lcnet +19,170,058 /m);
  const rows = (await cli('models', '--json')).stdout.trim().split('\n').map((l) => JSON.parse(l) as { name: string; params: number; contribution: string });
  assert.ok(rows.length >= 34);
  assert.equal(rows.find((x) => x.name === 'vgg16')!.params, 138_357_544);
  assert.ok(rows.every((x) => x.contribution.length > 30));
});
