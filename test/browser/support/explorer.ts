/**
 * Shared set-up for the explorer's browser tests: build web/ once per test file into a temporary folder, serve it
 * (cross-origin isolated or not, with the embedded subset at /data/ and any extra mounts), start headless Debian
 * Chromium, and open the explorer with its engine ready.
 *
 * Without /usr/bin/chromium the tests skip on a developer machine and fail under CI=true (see lenet.test.ts).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { buildWeb, KERNELS_WASM } from '../../../scripts/build-web.mjs';
import { serveStatic, type StaticServer } from '../../../scripts/serve-web.mjs';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const CHROMIUM = process.env.CONVKIT_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--no-first-run', '--disable-sync'];
export const inCI = process.env.CI === 'true';
/** Why the explorer's browser tests cannot run here, or null (under CI a missing Chromium is a failure, not a skip). */
export const skipReason: string | null = !existsSync(CHROMIUM)
  ? (inCI ? null : `Chromium not found at ${CHROMIUM} (apt-get install -y chromium); browser tests skipped`)
  : !existsSync(KERNELS_WASM) && !inCI ? 'kernels.wasm is not built (npm run build:wasm)' : null;

export interface ExplorerSession {
  browser: Browser;
  /** The built app's folder. */
  outdir: string;
  isolated: StaticServer;
  plain: StaticServer;
  /** Open the explorer (isolated server unless `isolated: false`) and wait for its engine; page errors collect in `errors`. */
  open(options?: { isolated?: boolean; hash?: string; viewport?: { width: number; height: number } }): Promise<{ page: Page; errors: string[] }>;
  close(): Promise<void>;
}

/**
 * Build, serve and launch. `mounts` adds URL prefixes (e.g. a checkpoint folder) to both servers.
 * Call close() in an `after` hook.
 */
export async function startExplorer(options: { mounts?: { prefix: string; dir: string }[]; minify?: boolean } = {}): Promise<ExplorerSession> {
  const { chromium } = await import('playwright-core');
  const outdir = mkdtempSync(join(tmpdir(), 'convkit-explorer-'));
  await buildWeb({ outdir, minify: options.minify ?? false });
  const mounts = [{ prefix: '/', dir: outdir }, { prefix: '/data/', dir: join(ROOT, 'data') }, ...(options.mounts ?? [])];
  const isolated = await serveStatic({ mounts });
  const plain = await serveStatic({ mounts, isolated: false });
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  return {
    browser, outdir, isolated, plain,
    async open(o = {}) {
      const page = await browser.newPage({ viewport: o.viewport ?? { width: 1280, height: 900 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
      page.on('console', (m) => {
        // The only expected noise: Chromium asks for /favicon.ico.
        if (m.type() === 'error' && !/favicon|Failed to load resource: the server responded with a status of 404/.test(m.text())) errors.push(`console: ${m.text()}`);
      });
      const server = o.isolated === false ? plain : isolated;
      await page.goto(server.url + (o.hash ? `#${o.hash}` : ''));
      await page.waitForSelector('body[data-engine=ready], body[data-error]', { state: 'attached', timeout: 30_000 });
      const error = await page.getAttribute('body', 'data-error');
      if (error) throw new Error(`the explorer failed to start: ${error}`);
      return { page, errors };
    },
    async close() {
      await browser.close();
      await isolated.close();
      await plain.close();
      rmSync(outdir, { recursive: true, force: true });
    },
  };
}
