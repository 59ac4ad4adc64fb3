// Broadcasting elementwise ops (tensor-tensor in both broadcast directions and tensor-number), unary ops,
// clamp, and the reductions sum / mean / max / min over all, one and several dims, with and without keepdim.
import { test } from 'node:test';
import * as F from '../../src/ops/index.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { loadFixtures, type FixtureCase } from '../helpers/fixtures.js';
import { checkOutputAndGradients, fixtureLeaves } from '../helpers/op-fixture.js';

type Binary = (a: Tensor | number, b: Tensor | number) => Tensor;
const binary: Record<string, Binary> = {
  add: F.add, sub: F.sub, mul: F.mul, div: F.div, pow: F.pow, maximum: F.maximum, minimum: F.minimum,
};
const unary: Record<string, (x: Tensor) => Tensor> = { neg: F.neg, exp: F.exp, log: F.log, sqrt: F.sqrt, abs: F.abs };

function runElementwise(c: FixtureCase, t: Record<string, Tensor | undefined>): Tensor {
  const b = binary[c.op];
  if (b) return c.has('b') ? b(t.a!, t.b!) : b(t.a!, c.num('scalar'));
  const u = unary[c.op];
  if (u) return u(t.x!);
  if (c.op === 'clamp') return F.clamp(t.x!, c.optionalNum('min'), c.optionalNum('max'));
  throw new Error(`no runner for ${c.op}`);
}

for (const c of loadFixtures('elementwise')) {
  test(`${c.op} matches PyTorch: ${c.name}`, () => {
    const t = fixtureLeaves(c, ['a', 'b', 'x']);
    checkOutputAndGradients(c, runElementwise(c, t), t);
  });
}

function dimParam(c: FixtureCase): number | number[] | undefined {
  const d = c.params['dim'];
  if (d === undefined) return undefined;
  return Array.isArray(d) ? (d as number[]) : c.num('dim');
}

for (const c of loadFixtures('reductions')) {
  test(`${c.op} matches PyTorch: ${c.name}`, () => {
    const t = fixtureLeaves(c, ['x']);
    const dim = dimParam(c), keepdim = c.bool('keepdim');
    let y: Tensor;
    if (c.op === 'sum') y = F.sum(t.x!, dim, keepdim);
    else if (c.op === 'mean') y = F.mean(t.x!, dim, keepdim);
    else if (c.op === 'max') y = F.max(t.x!, dim as number | undefined, keepdim);
    else y = F.min(t.x!, dim as number | undefined, keepdim);
    checkOutputAndGradients(c, y, t);
  });
}
