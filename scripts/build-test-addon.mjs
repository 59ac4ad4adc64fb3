#!/usr/bin/env node
// Builds the tests' emulated avx512 addon, native/build-test/avx512-emulated/build/Release/convkit_native.node: the
// addon's sources with the avx512 level's kernels (native/src/isa/*.cc with CK_VBYTES=64 in namespace ck_avx512)
// compiled with -mavx2 -mfma only, and dispatch.cc built with CK_AVX512_EMULATED (one level, "avx512", which needs
// AVX2 + FMA). GCC splits the 16-float vectors into AVX2 halves and native/src/simd.h builds vsplat and fmadd from
// AVX2 FMA halves (one rounding per lane, as AVX-512's FMA), so on a CPU without AVX-512 the conformance suite
// (test/backend/op-suite.test.ts) runs the avx512 level's kernel logic (16 lanes: blocking, tails, lane-dependent
// code) with it. It is never part of what users build or get: native/binding.gyp does not know it.
//
// When: `npm run build` runs `build-test-addon.mjs --if-requested`, which builds only with CONVKIT_BUILD_TEST_ADDONS=1
// (.ci/run sets it, so `npm ci` builds it before `npm test`); `node scripts/build-test-addon.mjs` builds it now.
// Kept while its key holds: a SHA-256 of native/src, this file (the flags) and the compiler's version; the test
// skips, saying why, where the addon is missing, stale or failed to build. A build never fails the caller: a failure
// is recorded in build-error.txt beside it, which that skip quotes.
// x86-64 Linux and macOS with GCC or clang ($CXX, else c++); Node's headers as scripts/build-native.mjs finds them
// (the running Node's include/node) or node-gyp's download cache. ~35 s on 2 cores (AMD EPYC, ck_avx512's 12 files
// ~48 s of CPU, winograd.cc and direct.cc the longest).
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, homedir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The addon folder (relative to the package root), laid out as loadAddon(directory) looks for it. */
export const TEST_ADDON_DIR = 'native/build-test/avx512-emulated';
const ADDON = 'build/Release/convkit_native.node';
const KEY_FILE = 'key.txt';
const ERROR_FILE = 'build-error.txt';

// native/binding.gyp's flags (and node-gyp's defaults it keeps: -fno-rtti, -fno-exceptions but for the glue).
const COMMON = ['-std=c++17', '-O3', '-fPIC', '-fno-math-errno', '-ffp-contract=off', '-fvisibility=hidden', '-pthread',
  '-fno-rtti', '-Wall', '-Wextra', '-Wno-unused-parameter'];
// -Wno-psabi: GCC notes that 64-byte vector arguments pass differently without AVX-512 (every caller is built here).
const KERNEL_FLAGS = ['-fno-exceptions', '-DCK_ISA_NS=ck_avx512', '-DCK_VBYTES=64', '-mavx2', '-mfma', '-Wno-psabi'];
const GLUE_FLAGS = ['-fexceptions', '-DBUILDING_NODE_EXTENSION', '-DCK_X86_LEVELS', '-DCK_AVX512_EMULATED'];

const cxx = () => process.env.CXX ?? 'c++';

function compilerVersion() {
  try {
    return execFileSync(cxx(), ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return null;
  }
}

/** Files under native/src, sorted, as paths relative to root with '/' separators. */
function nativeSources(root) {
  const found = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else found.push(relative(root, path).split(sep).join('/'));
    }
  };
  walk(join(root, 'native/src'));
  return found.sort();
}

/** The build's key: SHA-256 (hex) of the compiler's version, this script and every file under native/src. */
export function testAddonKey(root = ROOT, version = compilerVersion()) {
  const hash = createHash('sha256');
  hash.update(`${process.platform} ${process.arch}\n${version ?? 'no compiler'}\n`);
  for (const file of ['scripts/build-test-addon.mjs', ...nativeSources(root)]) {
    const text = readFileSync(join(root, file));
    hash.update(`${file}\n${text.length}\n`);
    hash.update(text);
  }
  return hash.digest('hex');
}

/** Whether the emulated addon is built from the current sources: its folder when it is, else why not. */
export function testAddonStatus(root = ROOT) {
  const dir = join(root, TEST_ADDON_DIR);
  const rebuild = 'CONVKIT_BUILD_TEST_ADDONS=1 npm run build (as .ci/run does) or `node scripts/build-test-addon.mjs` builds it (~35 s)';
  if (process.arch !== 'x64') return { ready: false, reason: `the emulated avx512 addon is for x86-64 (this is ${process.arch})` };
  if (existsSync(join(dir, ERROR_FILE))) {
    const first = readFileSync(join(dir, ERROR_FILE), 'utf8').split('\n')[0];
    return { ready: false, reason: `the emulated avx512 addon failed to build: ${first} (log: ${join(dir, ERROR_FILE)}; ${rebuild})` };
  }
  if (!existsSync(join(dir, ADDON))) return { ready: false, reason: `the emulated avx512 addon is not built: ${rebuild}` };
  const key = existsSync(join(dir, KEY_FILE)) ? readFileSync(join(dir, KEY_FILE), 'utf8').trim() : '';
  if (key !== testAddonKey(root)) {
    return { ready: false, reason: `the emulated avx512 addon was built from other native/src sources or another compiler: ${rebuild}` };
  }
  return { ready: true, directory: dir };
}

/** Node's headers: the running Node's own, npm's nodedir, or node-gyp's download cache (null where none). */
function nodeInclude() {
  const candidates = [join(dirname(process.execPath), '..', 'include', 'node')];
  if (process.env.npm_config_nodedir) candidates.push(join(process.env.npm_config_nodedir, 'include', 'node'));
  const version = process.versions.node;
  if (process.env.npm_config_devdir) candidates.push(join(process.env.npm_config_devdir, version, 'include', 'node'));
  candidates.push(join(homedir(), '.cache', 'node-gyp', version, 'include', 'node'));
  candidates.push(join(homedir(), 'Library', 'Caches', 'node-gyp', version, 'include', 'node'));
  return candidates.find((c) => existsSync(join(c, 'node_api.h'))) ?? null;
}

function run(args) {
  return new Promise((resolve) => {
    const child = spawn(cxx(), args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (d) => { log += d; });
    child.stderr.on('data', (d) => { log += d; });
    child.on('error', (e) => resolve({ ok: false, log: `${cxx()}: ${e.message}` }));
    child.on('close', (code) => resolve({ ok: code === 0, output: log, log: `${cxx()} ${args.join(' ')}\n${log}` }));
  });
}

/** Builds the addon unless its key holds; returns the status after (never throws for a failed compile). */
export async function buildTestAddon(root = ROOT) {
  const dir = join(root, TEST_ADDON_DIR);
  const before = testAddonStatus(root);
  if (before.ready || process.arch !== 'x64') return { built: false, ...before };
  const fail = (reason, log = '') => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, ERROR_FILE), `${reason}\n${log}`);
    return { built: false, ...testAddonStatus(root) };
  };
  rmSync(dir, { recursive: true, force: true });
  if (process.platform === 'win32') return fail('not on Windows (this script drives GCC or clang directly)');
  const version = compilerVersion();
  if (version === null) return fail(`no C++ compiler: \`${cxx()} --version\` failed (install g++ or clang, or set CXX)`);
  const include = nodeInclude();
  if (!include) return fail('no Node headers (include/node/node_api.h beside Node, npm_config_nodedir or node-gyp\'s cache)');

  const obj = join(dir, 'obj');
  mkdirSync(obj, { recursive: true });
  const kernels = readdirSync(join(root, 'native/src/isa')).filter((f) => f.endsWith('.cc')).map((f) => `native/src/isa/${f}`);
  const jobs = [
    ...kernels.map((src) => ({ src, flags: KERNEL_FLAGS, out: join(obj, `isa-${src.split('/').pop().replace(/\.cc$/, '.o')}`) })),
    ...['addon', 'pool', 'dispatch'].map((name) => ({ src: `native/src/${name}.cc`, flags: [...GLUE_FLAGS, '-I', include], out: join(obj, `${name}.o`) })),
  ].sort((a, b) => statSync(join(root, b.src)).size - statSync(join(root, a.src)).size);  // the longest first
  const started = Date.now();
  const failures = [];
  const queue = [...jobs];
  const worker = async () => {
    for (let job = queue.shift(); job; job = queue.shift()) {
      const r = await run([...COMMON, '-I', 'native/src', ...job.flags, '-c', job.src, '-o', job.out]);
      if (!r.ok) failures.push(r.log);
      else if (r.output) console.warn(r.output.trimEnd());  // warnings
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, availableParallelism()) }, worker));
  if (failures.length) return fail(`compiling failed: ${failures[0].split('\n').find((l) => /error/i.test(l)) ?? failures[0].split('\n')[0]}`, failures.join('\n'));
  const addon = join(dir, ADDON);
  mkdirSync(dirname(addon), { recursive: true });
  const shared = process.platform === 'darwin' ? ['-bundle', '-undefined', 'dynamic_lookup'] : ['-shared'];
  const link = await run([...shared, '-pthread', '-o', `${addon}.tmp`, ...jobs.map((j) => j.out)]);
  if (!link.ok) return fail('linking failed', link.log);
  renameSync(`${addon}.tmp`, addon);
  rmSync(obj, { recursive: true, force: true });
  writeFileSync(join(dir, KEY_FILE), `${testAddonKey(root, version)}\n`);
  return { built: true, seconds: (Date.now() - started) / 1000, ...testAddonStatus(root) };
}

/** Why this CPU has no use for the emulated level (it runs the real one, or lacks AVX2 + FMA), or null. Linux only. */
function cpuWithoutUse() {
  if (process.platform !== 'linux' || !existsSync('/proc/cpuinfo')) return null;
  const flags = new Set((/^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '').trim().split(/\s+/));
  if (['avx512f', 'avx512bw', 'avx512dq', 'avx512vl'].every((f) => flags.has(f))) return 'this CPU has AVX-512 (the tests run the real avx512 level)';
  if (!flags.has('avx2') || !flags.has('fma')) return 'this CPU lacks AVX2 + FMA, which the emulated level runs on';
  return null;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // --if-requested (npm run build): only with CONVKIT_BUILD_TEST_ADDONS=1, and only where the tests would run it.
  if (process.argv.includes('--if-requested')) {
    if (process.env.CONVKIT_BUILD_TEST_ADDONS !== '1') process.exit(0);
    const why = cpuWithoutUse();
    if (why) {
      console.log(`build-test-addon: skipped: ${why}`);
      process.exit(0);
    }
  }
  const result = await buildTestAddon();
  if (result.ready) {
    console.log(`build-test-addon: ${join(result.directory, ADDON)} (${result.built ? `built in ${result.seconds.toFixed(1)} s` : 'up to date'})`);
  } else {
    console.warn(`build-test-addon: warning: ${result.reason}`);
  }
}
