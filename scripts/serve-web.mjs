#!/usr/bin/env node
// A small static file server for the browser bundle, on 127.0.0.1 only. Every answer carries
//   Cross-Origin-Opener-Policy: same-origin, Cross-Origin-Embedder-Policy: require-corp
// so pages are crossOriginIsolated (SharedArrayBuffer, a shared WebAssembly.Memory and the wasm backend's
// Web Workers need it), and the MIME types browsers insist on (application/wasm for streaming compilation,
// text/javascript for module scripts). `.gz` files are served as opaque bytes (no Content-Encoding), so a page
// receives exactly the file on disk and gunzips it itself.
//
//   node scripts/serve-web.mjs [--port 8080] [--no-build]
//     builds web/build (scripts/build-web.mjs), then serves it at / and data/ at /data/
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const MIME_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.gz': 'application/gzip',
  '.safetensors': 'application/octet-stream',
};

/** The headers that make a page cross-origin isolated, sent with every answer. */
export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/**
 * Serve directories under URL prefixes (the longest matching prefix wins).
 * `isolated: false` leaves out the COOP/COEP headers (to test what a page that is not cross-origin isolated gets).
 * @param {{ mounts: { prefix: string, dir: string }[], host?: string, port?: number, isolated?: boolean }} options
 * @returns {Promise<{ url: string, port: number, close(): Promise<void> }>}
 */
export function serveStatic(options) {
  const host = options.host ?? '127.0.0.1';
  const isolation = options.isolated === false ? {} : ISOLATION_HEADERS;
  const mounts = options.mounts
    .map((m) => ({ prefix: m.prefix.endsWith('/') ? m.prefix : m.prefix + '/', dir: resolve(m.dir) }))
    .sort((a, b) => b.prefix.length - a.prefix.length);
  const server = createServer((req, res) => {
    const send = (status, body) => {
      res.writeHead(status, { ...isolation, 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, `${req.method} not allowed\n`);
    let path;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    } catch {
      return send(400, 'bad URL\n');
    }
    if (path.endsWith('/')) path += 'index.html';
    const mount = mounts.find((m) => path.startsWith(m.prefix));
    if (!mount) return send(404, `not found: ${path}\n`);
    const file = resolve(mount.dir, '.' + path.slice(mount.prefix.length - 1));
    if (file !== mount.dir && !file.startsWith(mount.dir + sep)) return send(403, 'outside the served directory\n');
    let size;
    try {
      const st = statSync(file);
      if (!st.isFile()) return send(404, `not found: ${path}\n`);
      size = st.size;
    } catch {
      return send(404, `not found: ${path}\n`);
    }
    res.writeHead(200, {
      ...isolation,
      'Content-Type': MIME_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'Content-Length': String(size),
      'Cache-Control': 'no-store',
    });
    if (req.method === 'HEAD') return res.end();
    createReadStream(file).on('error', () => res.destroy()).pipe(res);
  });
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      resolvePromise({
        url: `http://${host}:${port}/`,
        port,
        close: () => new Promise((done) => {
          server.closeAllConnections();
          server.close(() => done());
        }),
      });
    });
  });
}

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
  console.log(`serve-web: demo ${server.url} and test harness ${server.url}harness.html (cross-origin isolated; Ctrl-C to stop)`);
}
