// Types for scripts/serve-web.mjs (imported by test/browser/*.test.ts): it re-exports src/node/staticServer.ts.
export { MIME_TYPES, ISOLATION_HEADERS, serveStatic } from '../src/node/staticServer.js';
export type { StaticServer, StaticServerOptions } from '../src/node/staticServer.js';
