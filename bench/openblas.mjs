#!/usr/bin/env node
/**
 * OpenBLAS for the `pytorch-openblas` peer, unpacked under bench/.openblas/ (git-ignored); nothing changes
 * system-wide. Debian's PyTorch calls whatever `libblas.so.3` the loader finds first, which is the reference
 * (netlib) BLAS by default; running /usr/bin/python3 with LD_LIBRARY_PATH set to the folder this returns makes it
 * load OpenBLAS (the OpenMP build, so it shares PyTorch's OpenMP threads) instead.
 *
 *   node bench/openblas.mjs        unpacks it if missing and prints the library folder
 *
 * It runs `apt-get download libopenblas0-openmp` (no root needed; the package lists must exist: `apt-get update`)
 * and `dpkg-deb -x` on the .deb; bench/run.mjs calls `ensureOpenBlas()` when the peer is selected.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const benchDir = dirname(fileURLToPath(import.meta.url));
export const OPENBLAS_PACKAGE = 'libopenblas0-openmp';
/** Where the package is unpacked (bench/.gitignore lists it). */
export const OPENBLAS_DIR = join(benchDir, '.openblas');

/** The package's library folder (usr/lib/<multiarch>/openblas-openmp) under `root`, or null if not unpacked. */
function libraryFolder(root) {
  const lib = join(root, 'usr', 'lib');
  if (!existsSync(lib)) return null;
  for (const arch of readdirSync(lib)) {
    const folder = join(lib, arch, 'openblas-openmp');
    if (existsSync(join(folder, 'libblas.so.3'))) return folder;
  }
  return null;
}

function run(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8' });
  if (r.error) throw new Error(`${cmd} could not start (${r.error.message}): the OpenBLAS peer needs Debian's apt-get and dpkg-deb`);
  if (r.status !== 0) {
    const hint = /Unable to locate package|has no installation candidate/.test(r.stderr) ? ' (run `apt-get update` first: the package lists are missing)' : '';
    throw new Error(`\`${cmd} ${args.join(' ')}\` failed with exit code ${r.status}: ${r.stderr.trim().split('\n').at(-1)}${hint}`);
  }
  return r.stdout;
}

/**
 * The folder to put in LD_LIBRARY_PATH for PyTorch + OpenBLAS: unpacks the package into bench/.openblas/ the
 * first time (a few seconds, 6.7 MB download). Throws with the failing command's message.
 * @example
 * const libDir = ensureOpenBlas({ log: console.error });
 * spawnSync('/usr/bin/python3', ['bench/python/torch_bench.py', '--info'], { env: { ...process.env, LD_LIBRARY_PATH: libDir } });
 */
export function ensureOpenBlas({ log = () => {} } = {}) {
  const found = libraryFolder(OPENBLAS_DIR);
  if (found) return found;
  log(`bench: unpacking ${OPENBLAS_PACKAGE} into ${relative(process.cwd(), OPENBLAS_DIR) || OPENBLAS_DIR} (apt-get download, dpkg-deb -x; nothing is installed system-wide)`);
  // apt-get download writes into its working directory; a fresh one holds only this .deb.
  const download = mkdtempSync(join(benchDir, '.openblas-download-'));
  try {
    run('apt-get', ['download', OPENBLAS_PACKAGE], download);
    const deb = readdirSync(download).find((f) => f.startsWith(`${OPENBLAS_PACKAGE}_`) && f.endsWith('.deb'));
    if (!deb) throw new Error(`apt-get download ${OPENBLAS_PACKAGE} left no .deb in ${download}`);
    rmSync(OPENBLAS_DIR, { recursive: true, force: true });
    mkdirSync(OPENBLAS_DIR, { recursive: true });
    run('dpkg-deb', ['-x', join(download, deb), OPENBLAS_DIR], download);
    writeFileSync(join(OPENBLAS_DIR, 'PACKAGE'), `${deb}\n`);
  } finally {
    rmSync(download, { recursive: true, force: true });
  }
  const folder = libraryFolder(OPENBLAS_DIR);
  if (!folder) throw new Error(`${OPENBLAS_PACKAGE} unpacked into ${OPENBLAS_DIR}, but it has no usr/lib/*/openblas-openmp/libblas.so.3`);
  return folder;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    process.stdout.write(`${ensureOpenBlas({ log: (m) => process.stderr.write(`${m}\n`) })}\n`);
  } catch (error) {
    process.stderr.write(`bench/openblas.mjs: ${error.message}\n`);
    process.exit(1);
  }
}
