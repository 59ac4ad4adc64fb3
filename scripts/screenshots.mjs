#!/usr/bin/env node
/**
 * Screenshots of the explorer for the README, taken from the real app: build it (minified, as `convkit explore`
 * serves it), serve it cross-origin isolated, train LeNet-5 in the page for 2 epochs on the embedded subset, then
 * capture every tab at laptop (1280 px) and phone (390 px) width into docs/explorer/. Also checks that no tab
 * scrolls sideways on the phone and that the page logged no errors; exits 1 if either fails.
 *
 *   node scripts/screenshots.mjs [--out docs/explorer]
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { buildWeb } from './build-web.mjs';
import { serveStatic } from './serve-web.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({ options: { out: { type: 'string', default: join(root, 'docs/explorer') } } });
const out = resolve(values.out);
mkdirSync(out, { recursive: true });
const outdir = mkdtempSync(join(tmpdir(), 'convkit-shots-'));
await buildWeb({ outdir, minify: true });
const server = await serveStatic({ mounts: [{ prefix: '/', dir: outdir }, { prefix: '/data/', dir: join(root, 'data') }, { prefix: '/lab/', dir: join(root, 'lab') }] });
const browser = await chromium.launch({ executablePath: process.env.CONVKIT_CHROMIUM ?? '/usr/bin/chromium', headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'] });
const problems = [];
const TABS = ['train', 'input', 'inside', 'claims', 'models'];
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error' && !/favicon|status of 404/.test(m.text())) problems.push(`console: ${m.text()}`); });
  const t0 = Date.now();
  await page.goto(server.url);
  await page.waitForSelector('body[data-engine=ready], body[data-error]', { state: 'attached', timeout: 60_000 });
  console.log(`screenshots: engine ready ${Date.now() - t0} ms after navigation`);
  await page.selectOption('#train-model', 'lenet5');
  await page.fill('#train-epochs', '2');
  await page.click('#train-start');
  await page.waitForSelector('body[data-train-state=done], body[data-train-state=error]', { state: 'attached', timeout: 180_000 });
  console.log(`screenshots: trained, test accuracy ${await page.getAttribute('#panel-train', 'data-test-accuracy')}`);
  // A test image as the input of the Input and Inside tabs (clicking it switches to the Input tab).
  await page.click('#train-predictions figure >> nth=3 >> button');
  await page.waitForTimeout(1500);
  // Open the first two claims (parameter ledger, equivariance) so their pictures are in the shot.
  await page.click('#tab-claims');
  for (const summary of await page.locator('#claims details > summary').all().then((all) => all.slice(0, 2))) await summary.click();
  await page.waitForTimeout(4000);
  for (const [label, viewport] of [['laptop', { width: 1280, height: 900 }], ['phone', { width: 390, height: 844 }]]) {
    await page.setViewportSize(viewport);
    for (const tab of TABS) {
      await page.click(`#tab-${tab}`);
      await page.waitForTimeout(tab === 'claims' || tab === 'inside' ? 2500 : 800);
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      if (width > viewport.width) problems.push(`${label} ${tab}: the page is ${width} px wide in a ${viewport.width}-px window`);
      const file = join(out, `${label}-${tab}.png`);
      await page.screenshot({ path: file, fullPage: label === 'laptop' ? false : false });
      console.log(`screenshots: ${file}`);
    }
  }
} finally {
  await browser.close();
  await server.close();
  rmSync(outdir, { recursive: true, force: true });
}
if (problems.length) {
  console.error(`screenshots: problems:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
