#!/usr/bin/env node
// Serves the development build of the browser pages (web/build) with the one static server of convkit,
// src/node/staticServer.ts (also behind `convkit explore`): cross-origin isolated (COOP/COEP), on 127.0.0.1.
// This script re-exports it for the browser tests; TypeScript is loaded through tsx (a devDependency), so the
// server has one implementation and no build step is needed.
//
//   node scripts/serve-web.mjs [--port 8080] [--no-build]
//     builds web/build (scripts/build-web.mjs), then serves it at / and data/ at /data/
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tsImport } from 'tsx/esm/api';

/** @type {typeof import('../src/node/staticServer.ts')} */
const staticServer = await tsImport('../src/node/staticServer.ts', import.meta.url);
export const { MIME_TYPES, ISOLATION_HEADERS, serveStatic } = staticServer;

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const args = process.argv.slice(2);
  const portIndex = args.indexOf('--port');
  const port = portIndex >= 0 ? Number(args[portIndex + 1]) : 8080;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`serve-web: --port needs an integer 0..65535, got ${args[portIndex + 1]}`);
    process.exit(1);
  }
  const buildDir = join(root, 'web', 'build');
  if (!args.includes('--no-build')) {
    const { buildWeb } = await import('./build-web.mjs');
    await buildWeb({ outdir: buildDir });
  }
  const server = await serveStatic({ mounts: [{ prefix: '/', dir: buildDir }, { prefix: '/data/', dir: join(root, 'data') }], port });
  console.log(`serve-web: explorer ${server.url} and test harness ${server.url}harness.html (cross-origin isolated; Ctrl-C to stop)`);
}
