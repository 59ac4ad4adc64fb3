/**
 * The library in a real browser: bundle it (no Node modules allowed), serve it cross-origin isolated, open it in
 * headless Debian Chromium and train a few seeded steps of LeNet-5 on 16 real Fashion-MNIST images, on the
 * reference backend and on the wasm backend with 2 threads (Web Workers on a shared WebAssembly.Memory). The
 * per-step losses must match the same run in this Node process (web/harness.ts is the code on both sides).
 *
 * Needs /usr/bin/chromium (`apt-get install -y chromium`; CI installs it). Without it the browser tests skip on
 * a developer machine and fail under CI=true, where a skip would hide a missing install step.
 * CONVKIT_CHROMIUM=/path/to/chrome overrides the executable.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { buildWeb, KERNELS_WASM, noNodeModules } from '../../scripts/build-web.mjs';
import { serveStatic, type StaticServer } from '../../scripts/serve-web.mjs';
import { decodeSubsetBatch, SUBSET_FILES, trainLeNetSteps, type ImageBatch, type TrainStepsOptions, type TrainStepsResult } from '../../web/harness.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const subsetDir = join(root, 'data/fashion-mnist-subset');
const CHROMIUM = process.env.CONVKIT_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--no-first-run', '--disable-sync'];
const BATCH = 16;
const RUN = { seed: 0, steps: 6, lr: 0.01, momentum: 0.9 } as const;
/** Same code, same seed: the losses should agree to float32 rounding; allow 1e-5 relative. */
const RELATIVE_TOLERANCE = 1e-5;

const inCI = process.env.CI === 'true';
const haveChromium = existsSync(CHROMIUM);
const chromiumHint = `Chromium not found at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (or set CONVKIT_CHROMIUM)`;
const missingChromium = `${chromiumHint}; browser tests skipped`;
if (!haveChromium && inCI) {
  test('Chromium is installed for the browser tests (CI)', () => assert.fail(`${chromiumHint}; CI must install it (.ci/run)`));
}

const haveKernels = existsSync(KERNELS_WASM);
const missingKernels = `${KERNELS_WASM} is not built (run \`npm run build:wasm\`); the wasm browser test is skipped`;

/** Files the bundle must never reference: Node builtins, in any import form. */
const NODE_IMPORT = /(?:from\s*|import\s*\(\s*|require\s*\(\s*)["'](node:[^"']+)["']/;

function assertLossesAgree(browser: TrainStepsResult, node: TrainStepsResult, label: string): void {
  assert.equal(browser.losses.length, node.losses.length, `${label}: number of steps`);
  assert.equal(browser.initialParameterSum, node.initialParameterSum,
    `${label}: the seeded initial weights differ between the browser and Node (parameter sums ${browser.initialParameterSum} vs ${node.initialParameterSum})`);
  for (let i = 0; i < node.losses.length; i++) {
    const b = browser.losses[i]!, n = node.losses[i]!;
    assert.ok(Number.isFinite(b), `${label}: browser loss of step ${i} is ${b}`);
    const rel = Math.abs(b - n) / Math.max(Math.abs(n), 1e-12);
    assert.ok(rel <= RELATIVE_TOLERANCE,
      `${label}: step ${i} loss ${b} in the browser vs ${n} in Node (relative difference ${rel.toExponential(2)} > ${RELATIVE_TOLERANCE})\n` +
      `browser: ${browser.losses.join(', ')}\nnode:    ${node.losses.join(', ')}`);
  }
  // The run must actually train: a loss that never moves would pass the comparison trivially.
  assert.ok(node.losses[node.losses.length - 1]! < node.losses[0]!, `${label}: the loss did not decrease over ${RUN.steps} steps: ${node.losses.join(', ')}`);
}

describe('browser bundle', () => {
  let outdir = '';
  let files: string[] = [];
  before(async () => {
    outdir = mkdtempSync(join(tmpdir(), 'convkit-web-'));
    files = await buildWeb({ outdir });
  });
  after(() => { if (outdir) rmSync(outdir, { recursive: true, force: true }); });

  test('bundles the browser-safe library with no Node imports', () => {
    for (const file of ['harness.js', 'harness.html', 'explorer.js', 'explorer-worker.js', 'index.html']) assert.ok(files.includes(file), `${file} missing from the build output: ${files.join(', ')}`);
    for (const file of files.filter((f) => f.endsWith('.js'))) {
      const hit = NODE_IMPORT.exec(readFileSync(join(outdir, file), 'utf8'));
      assert.equal(hit, null, `the browser bundle ${file} imports ${hit?.[1]}`);
    }
    assert.match(readFileSync(join(outdir, 'harness.js'), 'utf8'), /function trainLeNetSteps/);
  });

  test('the bundler rejects a Node import in browser code, naming the importer and the module', async () => {
    const esbuild = await import('esbuild');
    const attempt = esbuild.build({
      stdin: { contents: "import { readFileSync } from 'node:fs'; export const f = readFileSync;", resolveDir: join(root, 'src'), sourcefile: 'src/leaky.ts', loader: 'ts' },
      bundle: true, write: false, format: 'esm', platform: 'browser', logLevel: 'silent', plugins: [noNodeModules],
    });
    await assert.rejects(attempt, (e: { errors?: { text: string }[] }) => {
      const text = (e.errors ?? []).map((x) => x.text).join('\n');
      assert.match(text, /imports the Node module 'node:fs'/);
      return true;
    });
    const bare = esbuild.build({
      stdin: { contents: "import { Worker } from 'worker_threads'; export const w = Worker;", resolveDir: join(root, 'src'), sourcefile: 'src/leaky.ts', loader: 'ts' },
      bundle: true, write: false, format: 'esm', platform: 'browser', logLevel: 'silent', plugins: [noNodeModules],
    });
    await assert.rejects(bare, (e: { errors?: { text: string }[] }) => {
      assert.match((e.errors ?? []).map((x) => x.text).join('\n'), /imports the Node module 'worker_threads'/);
      return true;
    });
  });

  test('the server sends COOP/COEP and the MIME types browsers require', async () => {
    const server = await serveStatic({ mounts: [{ prefix: '/', dir: outdir }, { prefix: '/data/', dir: join(root, 'data') }] });
    try {
      assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
      const expect: [string, string][] = [
        ['harness.html', 'text/html; charset=utf-8'],
        ['harness.js', 'text/javascript; charset=utf-8'],
        [`data/fashion-mnist-subset/${SUBSET_FILES.labels}`, 'application/gzip'],
      ];
      if (files.includes('kernels.wasm')) expect.push(['kernels.wasm', 'application/wasm']);
      for (const [path, type] of expect) {
        const r = await fetch(server.url + path);
        assert.equal(r.status, 200, path);
        assert.equal(r.headers.get('content-type'), type, path);
        assert.equal(r.headers.get('cross-origin-opener-policy'), 'same-origin', path);
        assert.equal(r.headers.get('cross-origin-embedder-policy'), 'require-corp', path);
        assert.equal(r.headers.get('content-encoding'), null, `${path} must arrive as the bytes on disk`);
        await r.arrayBuffer();
      }
      const gz = new Uint8Array(await (await fetch(server.url + `data/fashion-mnist-subset/${SUBSET_FILES.labels}`)).arrayBuffer());
      assert.deepEqual(gz, new Uint8Array(readFileSync(join(subsetDir, SUBSET_FILES.labels))));
      assert.equal((await fetch(server.url + 'missing.js')).status, 404);
      assert.equal((await fetch(server.url + '..%2f..%2fpackage.json')).status, 403);
    } finally {
      await server.close();
    }
  });

  describe('in headless Chromium', { skip: haveChromium ? false : missingChromium }, () => {
    let server: StaticServer | null = null;
    let context: BrowserContext | null = null;
    let page: Page | null = null;
    let userDataDir = '';
    const pageErrors: string[] = [];
    let batch: ImageBatch;

    /** Run trainLeNetSteps in the page on the batch the page fetched itself from the server. */
    async function trainInPage(options: TrainStepsOptions): Promise<TrainStepsResult> {
      return page!.evaluate(async ({ options, count, base }) => {
        const h = await import(`${base}harness.js`) as typeof import('../../web/harness.js');
        const pageBatch = await h.fetchSubsetBatch(`${base}data/fashion-mnist-subset/`, count);
        return h.trainLeNetSteps(pageBatch, options);
      }, { options, count: BATCH, base: server!.url });
    }

    before(async () => {
      batch = await decodeSubsetBatch(readFileSync(join(subsetDir, SUBSET_FILES.images)), readFileSync(join(subsetDir, SUBSET_FILES.labels)), BATCH);
      server = await serveStatic({ mounts: [{ prefix: '/', dir: outdir }, { prefix: '/data/', dir: join(root, 'data') }] });
      userDataDir = mkdtempSync(join(tmpdir(), 'convkit-chromium-'));
      const { chromium } = await import('playwright-core');
      context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
      page = context.pages()[0] ?? await context.newPage();
      page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
      page.on('console', (m) => {
        const where = m.location().url;
        // Chromium asks for /favicon.ico on its own; its 404 is not the page's doing.
        if (m.type() === 'error' && !where.endsWith('/favicon.ico')) pageErrors.push(`console.error: ${m.text()} (${where})`);
      });
      const response = await page.goto(server.url + 'harness.html');
      assert.equal(response?.status(), 200, 'harness.html');
    });

    after(async () => {
      await context?.close();
      await server?.close();
      if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
    });

    test('the page is cross-origin isolated (SharedArrayBuffer available)', async () => {
      const env = await page!.evaluate(() => ({ isolated: globalThis.crossOriginIsolated, sab: typeof SharedArrayBuffer }));
      assert.equal(env.isolated, true, 'crossOriginIsolated');
      assert.equal(env.sab, 'function', 'SharedArrayBuffer');
    });

    // A missing kernels.wasm is a build step not run: skip on a developer machine, fail in CI.
    const wasmSkip = haveKernels || inCI ? false : missingKernels;

    test('importing the library in the page selects wasm, with workers, before any setBackend call', { skip: wasmSkip }, async () => {
      const chosen = await page!.evaluate(async ({ base }) => {
        const h = await import(`${base}harness.js`) as typeof import('../../web/harness.js');
        return { atImport: h.backendAtImport(), cores: h.pageEnvironment().hardwareConcurrency };
      }, { base: server!.url });
      assert.equal(chosen.atImport.name, 'wasm');
      assert.equal(chosen.atImport.threads, chosen.cores, 'one thread per core in a cross-origin isolated page');
      assert.deepEqual(pageErrors, []);
    });

    test('LeNet-5 trains on the reference backend with the same losses as in Node', { timeout: 60_000 }, async (t) => {
      const options: TrainStepsOptions = { backend: 'reference', ...RUN };
      const inBrowser = await trainInPage(options);
      const inNode = await trainLeNetSteps(batch, options);
      t.diagnostic(`reference: browser ${inBrowser.milliseconds.toFixed(0)} ms, node ${inNode.milliseconds.toFixed(0)} ms; browser losses ${inBrowser.losses.join(', ')}`);
      assert.deepEqual(pageErrors, []);
      assertLossesAgree(inBrowser, inNode, 'reference');
    });

    test('LeNet-5 trains on the wasm backend with 2 threads (Web Workers) with the same losses as in Node', { timeout: 60_000, skip: wasmSkip }, async (t) => {
      assert.ok(haveKernels, missingKernels);
      const options: TrainStepsOptions = { backend: 'wasm', threads: 2, ...RUN };
      const inNode = await trainLeNetSteps(batch, options);
      const inBrowser = await trainInPage(options);
      t.diagnostic(`wasm x2: browser ${inBrowser.milliseconds.toFixed(0)} ms, node ${inNode.milliseconds.toFixed(0)} ms; browser losses ${inBrowser.losses.join(', ')}`);
      assert.equal(inBrowser.threads, 2, 'the wasm backend in the page runs on 2 threads');
      assert.deepEqual(pageErrors, []);
      assertLossesAgree(inBrowser, inNode, 'wasm x2');
    });

    test('a page that is not cross-origin isolated runs wasm on one thread and says why it cannot use more', { timeout: 60_000, skip: wasmSkip }, async () => {
      const plain = await serveStatic({ mounts: [{ prefix: '/', dir: outdir }, { prefix: '/data/', dir: join(root, 'data') }], isolated: false });
      const other = await context!.newPage();
      try {
        assert.equal((await other.goto(plain.url + 'harness.html'))?.status(), 200);
        const result = await other.evaluate(async ({ base }) => {
          const h = await import(`${base}harness.js`) as typeof import('../../web/harness.js');
          const env = h.pageEnvironment();
          const atImport = h.backendAtImport();
          const batch = await h.fetchSubsetBatch(`${base}data/fashion-mnist-subset/`, 4);
          const reference = await h.trainLeNetSteps(batch, { backend: 'reference', seed: 0, steps: 2 });
          let twoThreadsError = '';
          try {
            await h.selectBackend('wasm', 2);
          } catch (e) {
            twoThreadsError = (e as Error).message;
          }
          const wasm = await h.trainLeNetSteps(batch, { backend: 'wasm', threads: 1, seed: 0, steps: 2 });
          return { env, atImport, reference, wasm, twoThreadsError };
        }, { base: plain.url });
        assert.equal(result.env.crossOriginIsolated, false);
        assert.deepEqual(result.atImport, { name: 'wasm', threads: 1 }, 'the default there: wasm on the page\'s own thread');
        assert.match(result.twoThreadsError, /crossOriginIsolated/,
          `asking for 2 wasm threads in a page that is not isolated should fail and say how to fix it; got: '${result.twoThreadsError}'`);
        assert.equal(result.wasm.threads, 1);
        for (let i = 0; i < 2; i++) {
          const rel = Math.abs(result.wasm.losses[i]! - result.reference.losses[i]!) / result.reference.losses[i]!;
          assert.ok(rel <= RELATIVE_TOLERANCE, `step ${i}: wasm x1 ${result.wasm.losses[i]} vs reference ${result.reference.losses[i]}`);
        }
      } finally {
        await other.close();
        await plain.close();
      }
    });
  });
});
