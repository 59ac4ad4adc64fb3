#!/usr/bin/env node
// The `convkit` command. The CLI is TypeScript compiled to dist/ by `npm run build` (run by `npm install`
// through the `prepare` script); this file only loads it and reports a missing build in one line.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('convkit: the compiled CLI (dist/cli/main.js) is missing; run `npm run build` in the convkit folder first\n');
  process.exit(2);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
