#!/usr/bin/env node
// Bundles the browser-safe library for the browser with esbuild: web/harness.ts -> <outdir>/harness.js and
// web/demo.ts -> <outdir>/demo.js (ES modules, each with the whole library inside), plus the pages of web/ and the wasm backend's kernels.wasm next to the bundle
// (the backend fetches `new URL('./kernels.wasm', import.meta.url)`, i.e. beside the bundle that contains it).
//
// Browser-safe code never imports Node: a static import of a `node:` module, of a bare Node builtin (`fs`) or of
// src/node/ fails the build with the importer's name. The one sanctioned exception is a *dynamic* import of
// src/node/ (the wasm backend loads its Node glue that way, only when running in Node): it becomes a stub that
// throws if ever called, so the bundle holds no Node code at all.
//
//   node scripts/build-web.mjs [outdir]        (default web/build)
import { builtinModules } from 'node:module';
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
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
      if (builtin && args.kind !== 'entry-point') {
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
 * @param {{ outdir?: string, minify?: boolean }} [options]
 */
export async function buildWeb(options = {}) {
  const outdir = resolve(options.outdir ?? join(WEB_DIR, 'build'));
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    throw new Error('build-web: the esbuild devDependency is missing; run `npm install` first');
  }
  mkdirSync(outdir, { recursive: true });
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: {
      harness: join(WEB_DIR, 'harness.ts'),
      demo: join(WEB_DIR, 'demo.ts'),
      explorer: join(WEB_DIR, 'explorer', 'main.tsx'),
      'explorer-worker': join(WEB_DIR, 'explorer', 'worker.ts'),
    },
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: true,
    minify: options.minify ?? false,
    metafile: true,
    logLevel: 'silent',
    plugins: [noNodeModules],
  });
  const written = Object.keys(result.metafile.outputs).map((f) => relative(outdir, resolve(root, f)));
  for (const name of readdirSync(WEB_DIR)) {
    if (name.endsWith('.html') || name.endsWith('.css')) {
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

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outdir = process.argv[2] ?? join(WEB_DIR, 'build');
  buildWeb({ outdir }).then(
    (files) => {
      console.log(`build-web: ${relative(process.cwd(), resolve(outdir)) || '.'}: ${files.join(', ')}`);
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
