/**
 * The explorer as a page: how it starts on each kind of host, and what every tab owes a user whatever it shows
 * (fits a 390-px phone, labelled controls, no console errors, no request leaving the host). The tabs' own
 * behaviour is tested beside this file (explorer-train, explorer-inspect, explorer-claims, explorer-models).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { skipReason, startExplorer, type ExplorerSession } from './support/explorer.js';

const TABS = ['train', 'input', 'inside', 'claims', 'models'] as const;

describe('the explorer page', { skip: skipReason ?? false }, () => {
  let session: ExplorerSession;
  before(async () => { session = await startExplorer({ minify: true }); });
  after(async () => { await session?.close(); });

  test('served cross-origin isolated it runs wasm on min(cores, 4) threads, with no request leaving the host', async () => {
    const { page, errors } = await session.open();
    const outside: string[] = [];
    page.on('request', (r) => { const u = r.url(); if (!u.startsWith(session.isolated.url) && !u.startsWith('blob:') && !u.startsWith('data:')) outside.push(u); });
    await page.waitForFunction(() => (window as unknown as { convkitExplorer?: { engine: unknown } }).convkitExplorer?.engine != null);
    const engine = await page.evaluate(() => (window as unknown as { convkitExplorer: { engine: { backend: string; threads: number; crossOriginIsolated: boolean; hardwareConcurrency: number } } }).convkitExplorer.engine);
    assert.equal(engine.crossOriginIsolated, true);
    assert.equal(engine.threads, Math.min(engine.hardwareConcurrency, 4));
    assert.match(await page.textContent('#status') ?? '', new RegExp(`wasm, ${engine.threads} thread`));
    assert.equal(await page.locator('#thread-note').count(), 0, 'no thread note when isolated');
    for (const tab of TABS) await page.click(`#tab-${tab}`);
    // The minified build's thread pool runs kernels (its workers start from source text that minification once
    // broke: "convkitRunShares is not defined" on the first threaded kernel).
    const speed = await page.evaluate(() => (window as unknown as { convkitExplorer: { client: { call(n: string, p: unknown): Promise<{ imagesPerSecond: number; backend: string }> } } })
      .convkitExplorer.client.call('engine.measureSpeed', { model: 'vggsmall', batchSize: 64, warmupSeconds: 0, seconds: 0.1, repeats: 1 }));
    assert.equal(speed.backend, 'wasm');
    assert.ok(speed.imagesPerSecond > 0);
    await page.waitForTimeout(300);
    assert.equal(await page.getAttribute('body', 'data-engine-error'), null, 'an engine thread failed');
    assert.deepEqual(outside, []);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('served without the isolation headers it runs on one thread and says so on the page', async () => {
    const { page, errors } = await session.open({ isolated: false });
    await page.waitForSelector('#thread-note');
    assert.match(await page.textContent('#thread-note') ?? '', /one thread/);
    assert.match(await page.textContent('#status') ?? '', /wasm, 1 thread/);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('opened as file:// it explains on the page what to do', async () => {
    const page = await session.browser.newPage();
    await page.goto(pathToFileURL(join(session.outdir, 'index.html')).href);
    await page.waitForSelector('body[data-error=file-protocol]', { state: 'attached', timeout: 10_000 });
    const message = await page.textContent('#boot-message') ?? '';
    assert.match(message, /npx convkit explore/);
    assert.doesNotMatch(message, /loading/);
    await page.close();
  });

  for (const [label, width] of [['a 390-px phone', 390], ['a 1280-px laptop', 1280]] as const) {
    test(`every tab fits ${label} and every control has a label`, async () => {
      const { page, errors } = await session.open({ viewport: { width, height: 844 } });
      for (const tab of TABS) {
        await page.click(`#tab-${tab}`);
        await page.waitForTimeout(300);
        const pageWidth = await page.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(pageWidth <= width, `the ${tab} tab is ${pageWidth} px wide in a ${width}-px window`);
        const unlabelled = await page.evaluate((panelId) => {
          const panel = document.getElementById(panelId)!;
          // (No named inner functions: tsx's transform would wrap them in a helper the page does not have.)
          return [...panel.querySelectorAll('input, select, textarea, button')].filter((el) => {
            const control = el as HTMLInputElement;
            if (control.type === 'hidden' || control.hidden || control.closest('[hidden]')) return false;
            if (el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || el.getAttribute('title')) return false;
            if ('labels' in control && control.labels && control.labels.length > 0) return false;
            return !(el.tagName === 'BUTTON' && (el.textContent ?? '').trim().length > 0);
          }).map((el) => el.outerHTML.slice(0, 120));
        }, `panel-${tab}`);
        assert.deepEqual(unlabelled, [], `unlabelled controls in the ${tab} tab`);
      }
      // The tabs are reachable by keyboard: Tab from the page start lands on them in order.
      await page.focus('#tab-train');
      await page.keyboard.press('Tab');
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'tab-input');
      await page.keyboard.press('Enter');
      assert.equal(await page.getAttribute('#tab-input', 'aria-selected'), 'true');
      assert.deepEqual(errors, []);
      await page.close();
    });
  }
});

