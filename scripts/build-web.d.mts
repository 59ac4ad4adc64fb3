// Types for scripts/build-web.mjs (imported by test/browser/*.test.ts).
export declare const KERNELS_WASM: string;
export declare const WEB_DIR: string;
/** The esbuild plugin that fails a browser build on any Node module import. */
export declare const noNodeModules: { name: string; setup(build: unknown): void };
/** Bundle the explorer, web/harness.ts and web/demo.ts (and copy the pages and kernels.wasm) into outdir; returns the files written. */
export declare function buildWeb(options?: { outdir?: string; minify?: boolean; explorerOnly?: boolean; clean?: boolean }): Promise<string[]>;
/** Size and gzip size of each written file (source maps left out). */
export declare function bundleSizes(outdir: string, files: readonly string[]): { file: string; bytes: number; gzipBytes: number }[];
