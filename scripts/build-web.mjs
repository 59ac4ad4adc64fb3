#!/usr/bin/env node
// Bundles the browser-safe library for the browser with esbuild: the explorer (web/explorer/main.tsx ->
// <outdir>/explorer.js, its engine worker -> explorer-worker.js, explorer.css) and web/harness.ts -> harness.js
// (ES modules, each with the whole library inside), plus the pages of web/ and the wasm
// backend's kernels.wasm next to the bundle (the backend fetches `new URL('./kernels.wasm', import.meta.url)`,
// i.e. beside the bundle that contains it).
//
// `npm run build` (the package's prepare) runs this with `--explorer-only --clean dist/web`: the minified
// explorer that `convkit explore` serves from the installed package.
//
// Browser-safe code never imports Node: a static import of a `node:` module, of a bare Node builtin (`fs`) or of
// src/node/ fails the build with the importer's name. The one sanctioned exception is a *dynamic* import of
// src/node/ (the wasm backend loads its Node glue that way, only when running in Node): it becomes a stub that
// throws if ever called, so the bundle holds no Node code at all.
//
//   node scripts/build-web.mjs [outdir] [--dev] [--explorer-only] [--clean]     (default web/build)
//     minified without source maps unless --dev (readable code and source maps, for debugging);
//     --explorer-only leaves out the test harness; --clean empties outdir first.
//     Prints every file's size and its gzip size (what a browser downloads from a compressing server).
import { builtinModules } from 'node:module';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const nodeOnlyDir = join(root, 'src', 'node') + '/';
const builtins = new Set(builtinModules.flatMap((m) => [m, m.split('/')[0]]));

/** Where the kernels are built (npm run build:wasm); copied beside the bundle when present. */
export const KERNELS_WASM = join(root, 'src/backend/wasm/kernels.wasm');
export const WEB_DIR = join(root, 'web');

/** An esbuild plugin that refuses Node modules in a browser bundle. */
export const noNodeModules = {
  name: 'convkit-no-node-modules',
  setup(build) {
    const who = (importer) => (importer ? relative(root, importer) : '(entry point)');
    build.onResolve({ filter: /.*/ }, (args) => {
      const spec = args.path;
      const builtin = spec.startsWith('node:') || builtins.has(spec) || builtins.has(spec.split('/')[0]);
      // A dependency's own Node imports are esbuild's to resolve: with platform 'browser' it honours the package's
      // "browser" field (protobufjs maps 'fs' to false and guards the require) and fails the build on any other.
      const fromDependency = args.importer.includes(`${sep}node_modules${sep}`);
      if (builtin && args.kind !== 'entry-point' && !fromDependency) {
        return { errors: [{ text: `browser bundle: ${who(args.importer)} imports the Node module '${spec}'; browser-safe code (src/ outside src/node/ and src/cli/) must not import Node modules` }] };
      }
      if (spec.startsWith('.') && args.resolveDir) {
        const target = resolve(args.resolveDir, spec);
        if (target.startsWith(nodeOnlyDir)) {
          if (args.kind === 'dynamic-import') return { path: relative(root, target), namespace: 'convkit-node-only' };
          return { errors: [{ text: `browser bundle: ${who(args.importer)} statically imports the Node-only module ${relative(root, target)}` }] };
        }
      }
      return undefined;
    });
    build.onLoad({ filter: /.*/, namespace: 'convkit-node-only' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`convkit: ${args.path} is Node-only and not part of the browser bundle`)});`,
      loader: 'js',
    }));
  },
};

/**
 * Build the browser bundle into `outdir`. Returns the files written (relative to outdir).
 * `minify` (default false here; the command line defaults to true) also drops the source maps.
 * `explorerOnly` builds just the explorer's page, bundles and kernels; `clean` empties outdir first.
 * @param {{ outdir?: string, minify?: boolean, explorerOnly?: boolean, clean?: boolean }} [options]
 */
export async function buildWeb(options = {}) {
  const outdir = resolve(options.outdir ?? join(WEB_DIR, 'build'));
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    throw new Error('build-web: the esbuild devDependency is missing; run `npm install` first');
  }
  if (options.clean) rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const minify = options.minify ?? false;
  const explorerEntries = {
    explorer: join(WEB_DIR, 'explorer', 'main.tsx'),
    'explorer-worker': join(WEB_DIR, 'explorer', 'worker.ts'),
  };
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: options.explorerOnly ? explorerEntries : {
      harness: join(WEB_DIR, 'harness.ts'),
      ...explorerEntries,
    },
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: !minify,
    minify,
    metafile: true,
    logLevel: 'silent',
    plugins: [noNodeModules],
  });
  const written = Object.keys(result.metafile.outputs).map((f) => relative(outdir, resolve(root, f)));
  for (const name of readdirSync(WEB_DIR)) {
    const page = name.endsWith('.html') || name.endsWith('.css');
    // The explorer's page is index.html; harness.html belongs to the test harness's bundle.
    if (page && (!options.explorerOnly || name === 'index.html')) {
      copyFileSync(join(WEB_DIR, name), join(outdir, name));
      written.push(name);
    }
  }
  if (existsSync(KERNELS_WASM)) {
    copyFileSync(KERNELS_WASM, join(outdir, 'kernels.wasm'));
    written.push('kernels.wasm');
  }
  return written.sort();
}

/** `[file, bytes, gzip bytes]` rows for the files written (gzip level 9, as a compressing server would send). */
export function bundleSizes(outdir, files) {
  return files
    .filter((f) => !f.endsWith('.map'))
    .map((f) => {
      const path = join(outdir, f);
      return { file: f, bytes: statSync(path).size, gzipBytes: gzipSync(readFileSync(path), { level: 9 }).length };
    });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const flags = new Set(args.filter((a) => a.startsWith('--')));
  for (const flag of flags) {
    if (!['--dev', '--explorer-only', '--clean'].includes(flag)) {
      console.error(`build-web: unknown option ${flag} (options: --dev, --explorer-only, --clean)`);
      process.exit(2);
    }
  }
  const outdir = args.find((a) => !a.startsWith('--')) ?? join(WEB_DIR, 'build');
  const minify = !flags.has('--dev');
  buildWeb({ outdir, minify, explorerOnly: flags.has('--explorer-only'), clean: flags.has('--clean') }).then(
    (files) => {
      const where = relative(process.cwd(), resolve(outdir)) || '.';
      console.log(`build-web: ${where} (${minify ? 'minified' : 'unminified, with source maps (--dev)'}):`);
      const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
      let total = 0, totalGzip = 0;
      for (const row of bundleSizes(resolve(outdir), files)) {
        total += row.bytes;
        totalGzip += row.gzipBytes;
        console.log(`  ${row.file.padEnd(22)} ${kib(row.bytes).padStart(11)}  (gzip ${kib(row.gzipBytes)})`);
      }
      console.log(`  ${'total'.padEnd(22)} ${kib(total).padStart(11)}  (gzip ${kib(totalGzip)})`);
      if (!files.includes('kernels.wasm')) console.log('build-web: no kernels.wasm yet (run `npm run build:wasm`); the page will only have the reference backend');
    },
    (error) => {
      // esbuild's own errors already carry file:line; print them one per line.
      const list = error && Array.isArray(error.errors) && error.errors.length ? error.errors : null;
      if (list) for (const e of list) console.error(`build-web: ${e.location ? `${e.location.file}:${e.location.line}: ` : ''}${e.text}`);
      else console.error(`build-web: ${error && error.message ? error.message : error}`);
      process.exit(1);
    },
  );
}
