// `npm run bench:extension`: end-to-end latency and size of the built extension in headless
// Chromium. A benchmark, not a test: it prints medians and PASS/FAIL against the targets.
//
//   right-click -> card shown, cold: fresh profile per launch (offscreen document and model not
//     loaded yet), median of --cold runs;
//   right-click -> card shown, warm: same browser after the cold run, median of --warm runs;
//   popup upload -> result: median of --popup runs;
//   "where it looked": the offscreen document's warm wasm pass that gives the probabilities and the
//     heatmap, against classifying alone (median of --heatmap runs), and the click on the card's toggle
//     until the heatmap is painted over the page's image;
//   packed zip and dist/ sizes (the production build: run `npm run build` first; the timings run on
//     the test build test/e2e/build.ts makes, which adds only the service worker's test hook).
//
// Timing uses Date.now() on both ends (the service worker when classifyUrl starts, the page when
// the overlay's data-state turns "result"; the popup's input 'change' event and its data-state), so
// CDP round trips are not counted. Usage: npm run bench:extension -- [--cold 3] [--warm 20] [--popup 20]
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ElementHandle, Page } from 'puppeteer-core';
import {
  CHROMIUM,
  launchWithExtension,
  stateLog,
  waitForDeepSelector,
  waitForFinalState,
  type ExtensionSession,
} from '../test/e2e/harness.ts';
import { startFixtureServer, type FixtureServer } from '../test/e2e/fixture-server.ts';
import { DIST, REPO_ROOT, ensureBuilt } from '../test/e2e/build.ts';
import { median } from '../trainer/evaluate/median.ts';
import { clickInCard } from '../test/e2e/card-geometry.ts';

const TARGETS = { coldMs: 1500, warmMs: 150, popupMs: 150, heatmapMs: 150, packedBytes: 5 * 1024 * 1024 };

const { values } = parseArgs({
  options: {
    cold: { type: 'string', default: '3' },
    warm: { type: 'string', default: '20' },
    popup: { type: 'string', default: '20' },
    heatmap: { type: 'string', default: '50' },
  },
});
const runs = { cold: Number(values.cold), warm: Number(values.warm), popup: Number(values.popup), heatmap: Number(values.heatmap) };

function dirSize(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((sum, name) => sum + dirSize(join(path, name)), 0);
}

/** The zip `npm run build` packs (dermlens-<version>.zip at the repo root or in dist-packages/). */
function findPackedZip(): string | undefined {
  const candidates: string[] = [];
  for (const dir of [REPO_ROOT, join(REPO_ROOT, 'dist-packages'), join(REPO_ROOT, 'dist-zip')]) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) if (/^dermlens.*\.zip$/.test(name)) candidates.push(join(dir, name));
  }
  return candidates.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
}

/** One right-click classification; returns ms from classifyUrl() start to the card's result state. */
async function rightClick(session: ExtensionSession, page: Page, tabId: number, src: string): Promise<number> {
  const before = (await stateLog(page)).length;
  const startedAt = await session.startClassifyUrl(src, tabId);
  const entry = await waitForFinalState(page, before, { timeout: 60_000 });
  if (entry.state !== 'result') throw new Error(`classification failed: ${entry.error}`);
  return entry.at - startedAt;
}

async function benchColdAndWarm(server: FixtureServer) {
  const cold: number[] = [];
  const warm: number[] = [];
  const preloaded: boolean[] = [];
  let heatmap: HeatmapTimes | undefined;
  for (let i = 0; i < runs.cold; i++) {
    const session = await launchWithExtension();
    try {
      const page = await session.openPage(server.urls.page);
      const tabId = await session.grantActiveTab(page);
      preloaded.push(session.hasOffscreenDocument());
      cold.push(await rightClick(session, page, tabId, server.urls.lesionPng));
      if (i === runs.cold - 1) {
        for (let j = 0; j < runs.warm; j++) warm.push(await rightClick(session, page, tabId, server.urls.lesionPng));
        heatmap = await benchHeatmap(session, page);
      }
    } finally {
      await session.close();
    }
  }
  return { cold, warm, preloaded, heatmap };
}

interface HeatmapTimes {
  withHeatmap: number[] | null;
  classifyOnly: number[];
  toggle: number[];
}

/** "Where it looked" in the warm session: the offscreen pass with and without the map, and toggle -> painted. */
async function benchHeatmap(session: ExtensionSession, page: Page): Promise<HeatmapTimes> {
  const offscreen = session.browser.targets().find((t) => t.url().endsWith('/offscreen.html'));
  if (!offscreen) throw new Error('no offscreen document');
  const frame = await offscreen.asPage();
  const inference = await frame.evaluate(
    (n: number) =>
      (
        globalThis as unknown as { dermlensInferenceBench(n: number): Promise<{ withHeatmap: number[] | null; classifyOnly: number[] }> }
      ).dermlensInferenceBench(n),
    runs.heatmap,
  );
  const toggle: number[] = [];
  for (let i = 0; i < 10; i++) {
    // Twice per round: on (timed: click until the layer is in the page and painted), then off.
    const started = Date.now();
    await clickInCard(page, '.heatmap-toggle');
    await page.waitForFunction(() => document.querySelector('dermlens-heatmap') !== null, { polling: 'raf' });
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(r)));
    toggle.push(Date.now() - started);
    await clickInCard(page, '.heatmap-toggle');
  }
  return { ...inference, toggle };
}

async function benchPopup(server: FixtureServer) {
  const dir = mkdtempSync(join(tmpdir(), 'dermlens-bench-'));
  const session = await launchWithExtension();
  const times: number[] = [];
  try {
    const popup = await session.openPopup();
    const input = (await waitForDeepSelector(popup, 'dermlens-popup >>> input[type=file]')) as ElementHandle<HTMLInputElement>;
    // Record when the file is chosen (capture phase on the input's root runs before the app's listener).
    await input.evaluate((el) => {
      const w = window as unknown as { __changeAt: number };
      (el.getRootNode() as ShadowRoot).addEventListener('change', () => (w.__changeAt = Date.now()), { capture: true });
    });
    // Alternate two files so every upload is a real change of the input.
    const files = [join(dir, 'a.png'), join(dir, 'b.jpg')];
    writeFileSync(files[0]!, server.lesionPng);
    writeFileSync(files[1]!, server.lesionJpeg);
    // One untimed upload first: the first one also starts the offscreen document and loads the model.
    for (let i = 0; i <= runs.popup; i++) {
      const before = (await stateLog(popup)).length;
      await input.uploadFile(files[i % 2]!);
      const entry = await waitForFinalState(popup, before, { tag: 'dermlens-popup', timeout: 60_000 });
      if (entry.state !== 'result') throw new Error(`popup classification failed: ${entry.error}`);
      const changeAt = await popup.evaluate(() => (window as unknown as { __changeAt: number }).__changeAt);
      if (i > 0) times.push(entry.at - changeAt);
    }
  } finally {
    await session.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return times;
}

function row(label: string, value: string, target: string, pass: boolean) {
  console.log(`${label.padEnd(44)} ${value.padStart(12)}   target ${target.padEnd(10)} ${pass ? 'PASS' : 'FAIL'}`);
}

async function main() {
  ensureBuilt();
  const server = await startFixtureServer();
  try {
    const { cold, warm, preloaded, heatmap } = await benchColdAndWarm(server);
    const popup = await benchPopup(server);
    const zip = findPackedZip();
    const zipBytes = zip ? statSync(zip).size : NaN;
    const distBytes = existsSync(DIST) ? dirSize(DIST) : NaN;
    const mb = (b: number) => `${(b / 1024 / 1024).toFixed(2)} MB`;
    console.log('');
    // Latencies depend on what else runs: print the machine's state next to them.
    const chromium = execFileSync(CHROMIUM, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    console.log(
      `${chromium}; ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'}); load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );
    console.log(`cold runs (ms): ${cold.map((x) => x.toFixed(0)).join(', ')}`);
    if (preloaded.some(Boolean))
      console.log('note: the offscreen document already existed before the cold click in some runs (preloaded at startup)');
    console.log(`warm runs (ms): ${warm.map((x) => x.toFixed(0)).join(', ')}`);
    console.log(`popup runs (ms): ${popup.map((x) => x.toFixed(0)).join(', ')}`);
    console.log('');
    row(
      `right-click -> card, cold (median of ${cold.length})`,
      `${median(cold).toFixed(0)} ms`,
      `<= ${TARGETS.coldMs} ms`,
      median(cold) <= TARGETS.coldMs,
    );
    row(
      `right-click -> card, warm (median of ${warm.length})`,
      `${median(warm).toFixed(0)} ms`,
      `<= ${TARGETS.warmMs} ms`,
      median(warm) <= TARGETS.warmMs,
    );
    if (heatmap?.withHeatmap) {
      const [withMap, alone, toggle] = [median(heatmap.withHeatmap), median(heatmap.classifyOnly), median(heatmap.toggle)];
      console.log(`where it looked, offscreen pass (ms): ${heatmap.withHeatmap.map((x) => x.toFixed(1)).join(', ')}`);
      row(
        `probabilities + heatmap, wasm warm (median of ${heatmap.withHeatmap.length})`,
        `${withMap.toFixed(1)} ms`,
        `<= ${TARGETS.heatmapMs} ms`,
        withMap <= TARGETS.heatmapMs,
      );
      console.log(
        `${'  same input, classify only'.padEnd(44)} ${`${alone.toFixed(1)} ms`.padStart(12)}   (the heatmap adds ${(withMap - alone).toFixed(1)} ms)`,
      );
      row(
        `"Where it looked" click -> painted (median of ${heatmap.toggle.length})`,
        `${toggle.toFixed(0)} ms`,
        `<= ${TARGETS.heatmapMs} ms`,
        toggle <= TARGETS.heatmapMs,
      );
    } else {
      console.log('where it looked: the shipped model has no global-average-pooling head, so no heatmap');
    }
    row(
      `popup upload -> result (median of ${popup.length})`,
      `${median(popup).toFixed(0)} ms`,
      `<= ${TARGETS.popupMs} ms`,
      median(popup) <= TARGETS.popupMs,
    );
    row(
      `packed zip (${zip ? zip.slice(REPO_ROOT.length + 1) : 'not found'})`,
      mb(zipBytes),
      `<= ${mb(TARGETS.packedBytes)}`,
      zipBytes <= TARGETS.packedBytes,
    );
    console.log(`${'dist/ (unpacked)'.padEnd(44)} ${mb(distBytes).padStart(12)}`);
  } finally {
    await server.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
