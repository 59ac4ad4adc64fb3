// `npx convkit` in the project's own folder (the README's main command). Without a link in node_modules/.bin,
// npm builds its dependency tree and asks the registry for a package named convkit before it falls back to the
// project's bin: 40-56 s of npm's spinner before anything printed (issue 17, finding 11). `prepare` links it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

test('npm ci links node_modules/.bin/convkit to bin/convkit.js, so npx runs it without asking the registry', () => {
  const link = join(root, 'node_modules', '.bin', 'convkit');
  let resolved = '';
  try { resolved = realpathSync(link); } catch { assert.fail(`${link} is missing: package.json's prepare script must run scripts/link-bin.mjs`); }
  assert.equal(resolved, realpathSync(join(root, 'bin', 'convkit.js')));
  // --offline: if npx went looking for a package it would fail here instead of running ours.
  const r = spawnSync('npx', ['--offline', 'convkit', '--version'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^convkit \d+\.\d+\.\d+/);
});
