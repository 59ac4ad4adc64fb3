// Types for scripts/serve-web.mjs (imported by test/browser/*.test.ts).
export declare const MIME_TYPES: Readonly<Record<string, string>>;
export declare const ISOLATION_HEADERS: Readonly<Record<string, string>>;
export interface StaticServer {
  /** `http://127.0.0.1:<port>/` */
  url: string;
  port: number;
  close(): Promise<void>;
}
/** Serve directories under URL prefixes with COOP/COEP headers (unless `isolated: false`), on 127.0.0.1 by default. */
export declare function serveStatic(options: { mounts: { prefix: string; dir: string }[]; host?: string; port?: number; isolated?: boolean }): Promise<StaticServer>;
