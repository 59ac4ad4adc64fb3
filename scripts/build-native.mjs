#!/usr/bin/env node
// Builds the native backend's addon (native/binding.gyp) with node-gyp into native/build/Release/convkit_native.node.
// Part of `npm run build`, so `npm ci` (prepare) builds it. It never fails the install: where the build cannot run
// (no C++ compiler, make or Python), it prints one warning line and records the reason in native/build/build-error.txt,
// which the backend's load error quotes; `auto` then runs on wasm.
//
// node-gyp: npm's own (npm_config_node_gyp inside npm scripts), else a node-gyp installed beside the project, else
// the one bundled with the npm that runs this Node. Node's headers: the running Node's own include/node when it has
// them (no download: these machines have no access to nodejs.org), else node-gyp fetches them.
// CONVKIT_SKIP_NATIVE_BUILD=1 skips the build. `--if-missing` (the package's install script, for users who install
// convkit from the registry) does nothing when an addon already loads from native/: a prebuilt binary for this
// platform (native/prebuilds/<platform>-<arch>/, see src/node/native-addon.ts) or an earlier build.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = join(root, 'native');
const errorFile = join(nativeDir, 'build', 'build-error.txt');
const addon = join(nativeDir, 'build', 'Release', 'convkit_native.node');

function fail(reason, log = '') {
  mkdirSync(dirname(errorFile), { recursive: true });
  writeFileSync(errorFile, `${reason}\n${log}`);
  console.warn(`build-native: warning: the native backend was not built (${reason}); convkit runs on wasm. Details: ${errorFile}`);
  process.exit(0);
}

function findNodeGyp() {
  const candidates = [process.env.npm_config_node_gyp];
  try { candidates.push(createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js')); } catch { /* not installed */ }
  if (process.env.npm_execpath) candidates.push(join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  candidates.push(join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  return candidates.find((c) => c && existsSync(c)) ?? null;
}

if (process.env.CONVKIT_SKIP_NATIVE_BUILD === '1') {
  console.log('build-native: skipped (CONVKIT_SKIP_NATIVE_BUILD=1)');
  process.exit(0);
}
if (process.argv.includes('--if-missing')) {
  try {
    const found = createRequire(import.meta.url)('node-gyp-build').path(nativeDir);
    console.log(`build-native: using ${found}`);
    process.exit(0);
  } catch { /* none yet: build it */ }
}
const nodeGyp = findNodeGyp();
if (!nodeGyp) fail('node-gyp not found (neither npm_config_node_gyp, a node-gyp package, nor npm\'s bundled one)');

// A missing compiler would surface as make's "Error 1": say what is missing instead (MSVC is found by node-gyp).
if (process.platform !== 'win32') {
  const cxx = process.env.CXX ?? 'c++';
  const probe = spawnSync(cxx, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) fail(`no C++ compiler: \`${cxx} --version\` failed (install g++ or clang, or set CXX)`);
}

const prefix = join(dirname(process.execPath), '..');
const headers = existsSync(join(prefix, 'include', 'node', 'node_api.h')) && !process.env.npm_config_nodedir ? [`--nodedir=${prefix}`] : [];
const gyp = (args) => spawnSync(process.execPath, [nodeGyp, ...args, ...headers], { cwd: nativeDir, encoding: 'utf8', maxBuffer: 64 << 20 });

const started = Date.now();
// configure, then an incremental build (make recompiles only what changed; `rebuild` would start over).
for (const step of [['configure'], ['build', '--jobs', String(availableParallelism())]]) {
  const r = gyp(step);
  if (r.status !== 0) {
    const log = `${r.stdout ?? ''}${r.stderr ?? ''}`;
    const firstError = log.split('\n').find((l) => /error/i.test(l) && !/^gyp (ERR|info)/.test(l)) ??
      log.split('\n').find((l) => /gyp ERR! stack Error/.test(l)) ?? `node-gyp ${step[0]} exited with ${r.status ?? r.signal}`;
    fail(`node-gyp ${step[0]} failed: ${firstError.trim().slice(0, 300)}`, log);
  }
}
if (!existsSync(addon)) fail(`node-gyp finished but ${addon} is missing`);
rmSync(errorFile, { force: true });
console.log(`build-native: ${addon} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
