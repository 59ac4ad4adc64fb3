/**
 * The one static file server of convkit (Node only): `convkit explore` serves the built explorer with it, and
 * scripts/serve-web.mjs and the browser tests use it for the development build.
 *
 * Every answer carries `Cross-Origin-Opener-Policy: same-origin` and `Cross-Origin-Embedder-Policy: require-corp`
 * (unless `isolated: false`), so pages are crossOriginIsolated: SharedArrayBuffer, a shared WebAssembly.Memory and
 * the wasm backend's worker threads need it. Files go out with the MIME types browsers insist on
 * (application/wasm for streaming compilation, text/javascript for module scripts). `.gz` files are served as
 * opaque bytes (no Content-Encoding), so a page receives exactly the file on disk and gunzips it itself.
 *
 * What is served: directories under URL prefixes (`mounts`, never outside the directory), single files at exact
 * URL paths (`files`: nothing else beside or below them is reachable), and JSON documents at exact URL paths.
 */
import { createReadStream, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { extname, resolve, sep } from 'node:path';

export const MIME_TYPES: Readonly<Record<string, string>> = {
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
  '.tar': 'application/x-tar',
  '.safetensors': 'application/octet-stream',
};

/** The headers that make a page cross-origin isolated, sent with every answer. */
export const ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

export interface StaticServerOptions {
  /** Directories served under URL prefixes (the longest matching prefix wins). */
  mounts?: readonly { prefix: string; dir: string }[];
  /** Single files at exact URL paths (e.g. `/datasets/mnist/t10k-images-idx3-ubyte.gz` -> a file anywhere). */
  files?: Readonly<Record<string, string>>;
  /** JSON documents at exact URL paths (e.g. `/datasets/index.json`). */
  json?: Readonly<Record<string, unknown>>;
  /** Default 127.0.0.1 (local only). */
  host?: string;
  /** Default 0: any free port. */
  port?: number;
  /** false leaves out COOP/COEP (to test what a page that is not cross-origin isolated gets). */
  isolated?: boolean;
}

export interface StaticServer {
  /** `http://127.0.0.1:<port>/` */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Serve `options` until close(). Rejects with the listen error (EADDRINUSE, EACCES, ...) before serving anything. */
export function serveStatic(options: StaticServerOptions): Promise<StaticServer> {
  const host = options.host ?? '127.0.0.1';
  const isolation = options.isolated === false ? {} : ISOLATION_HEADERS;
  const mounts = (options.mounts ?? [])
    .map((m) => ({ prefix: m.prefix.endsWith('/') ? m.prefix : m.prefix + '/', dir: resolve(m.dir) }))
    .sort((a, b) => b.prefix.length - a.prefix.length);
  const files = new Map(Object.entries(options.files ?? {}).map(([url, path]) => [url, resolve(path)]));
  const json = new Map(Object.entries(options.json ?? {}).map(([url, value]) => [url, JSON.stringify(value, null, 1) + '\n']));

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8'): void => {
      res.writeHead(status, { ...isolation, 'Content-Type': type, 'Content-Length': String(Buffer.byteLength(body)), 'Cache-Control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, `${req.method} not allowed\n`);
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    } catch {
      return send(400, 'bad URL\n');
    }
    const document = json.get(path);
    if (document !== undefined) return send(200, document, MIME_TYPES['.json']);
    let file = files.get(path);
    if (file === undefined) {
      if (path.endsWith('/')) path += 'index.html';
      const mount = mounts.find((m) => path.startsWith(m.prefix));
      if (!mount) return send(404, `not found: ${path}\n`);
      file = resolve(mount.dir, '.' + path.slice(mount.prefix.length - 1));
      if (file !== mount.dir && !file.startsWith(mount.dir + sep)) return send(403, 'outside the served directory\n');
    }
    let size: number;
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
    if (req.method === 'HEAD') return void res.end();
    createReadStream(file).on('error', () => res.destroy()).pipe(res);
  };

  const server = createServer(handle);
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      // An IPv6 literal needs brackets in a URL.
      const urlHost = host.includes(':') ? `[${host}]` : host;
      resolvePromise({
        url: `http://${urlHost}:${port}/`,
        port,
        close: () => new Promise<void>((done) => {
          server.closeAllConnections();
          server.close(() => done());
        }),
      });
    });
  });
}
