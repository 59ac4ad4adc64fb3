// report.md's "Next" commands must work where the user types them: the folder the demo ran in (issue 17,
// finding 11: `--checkpoint best`, relative to the report, failed from there).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/convkit.js', import.meta.url));
const built = existsSync(fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url)));

test('the commands in report.md\'s Next section run from the folder the demo ran in', { skip: !built && process.env.CI !== 'true' ? 'dist/ is not built (npm run build)' : false }, () => {
  const cwd = mkdtempSync(join(tmpdir(), 'convkit-demo-report-'));
  try {
    const demo = spawnSync(process.execPath, [bin, 'demo', '--subset', '--epochs', '1', '--out', 'my-demo'], { cwd, encoding: 'utf8', env: { ...process.env, CONVKIT_THREADS: '1' } });
    assert.equal(demo.status, 0, demo.stderr);
    const report = readFileSync(join(cwd, 'my-demo', 'report.md'), 'utf8');
    const next = report.slice(report.indexOf('## Next'));
    const evalLine = next.split('\n').find((l) => l.startsWith('convkit eval '));
    assert.ok(evalLine, `no eval command in:\n${next}`);
    assert.match(evalLine!, /--checkpoint my-demo\/best$/);
    const r = spawnSync(process.execPath, [bin, ...evalLine!.split(' ').slice(1), '--test-limit', '50'], { cwd, encoding: 'utf8', env: { ...process.env, CONVKIT_THREADS: '1' } });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /accuracy \d+\.\d+ ?%/);
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});
