#!/usr/bin/env node
// Links node_modules/.bin/convkit to this checkout's bin/convkit.js (run by `prepare` after `npm ci`).
// Why: `npx convkit` in the project's own folder does not find the project's own bin in node_modules/.bin, so npm
// builds its whole dependency tree and asks the registry for a package named convkit before falling back to it:
// 56 s of npm's spinner on a loaded 2-core machine (issue 17, finding 11). With the link npx runs it at once.
import { existsSync, lstatSync, mkdirSync, readlinkSync, symlinkSync, unlinkSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const binDir = join(root, 'node_modules', '.bin');
// Only in a checkout with its own node_modules (an installed package's dependents have their own bin links).
if (existsSync(join(root, 'node_modules'))) {
  mkdirSync(binDir, { recursive: true });
  const link = join(binDir, 'convkit');
  const target = relative(binDir, join(root, 'bin', 'convkit.js'));
  let current = null;
  try { current = lstatSync(link).isSymbolicLink() ? readlinkSync(link) : 'not a link'; } catch { /* absent */ }
  if (current !== target) {
    if (current !== null) unlinkSync(link);
    symlinkSync(target, link);
  }
}
