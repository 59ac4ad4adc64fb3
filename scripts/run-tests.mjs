#!/usr/bin/env node
// Runs every *.test.ts under test/ with node's own test runner (TypeScript through tsx).
// Node 20's --test expands no globs and silently runs nothing for a directory, so we list files ourselves
// and refuse to report a pass when none were found. Extra arguments filter by path substring.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
function find(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...find(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}
const filters = process.argv.slice(2);
let files = find(join(root, 'test')).sort();
if (filters.length) files = files.filter((f) => filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error('run-tests: no test files found' + (filters.length ? ` matching ${filters.join(' ')}` : ''));
  process.exit(1);
}
console.log(`run-tests: ${files.length} test files`);
// Two files at a time (node's default is one fewer than the cores: one on these 2-core machines). Most files spend
// their time in tsx start-up, child processes and a browser rather than on both cores; no test asserts a timing.
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...files.map((f) => relative(root, f))], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
