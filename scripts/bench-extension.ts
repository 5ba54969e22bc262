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
// [--browser firefox]: the same right-click and popup times in Debian's Firefox ESR, printed beside
// Chrome's from the same run (scripts/bench-extension-firefox.ts).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Page } from 'puppeteer-core';
import { CHROMIUM, launchWithExtension, stateLog, waitForFinalState, type ExtensionSession } from '../test/e2e/harness.ts';
import { startFixtureServer, type FixtureServer } from '../test/e2e/fixture-server.ts';
import { DIST, REPO_ROOT, ensureBuilt } from '../test/e2e/build.ts';
import { median } from '../trainer/evaluate/median.ts';
import { clickInCard } from '../test/e2e/card-geometry.ts';
import { timePopupUploads } from './bench-popup.ts';
import { benchFirefox } from './bench-extension-firefox.ts';
import { FIREFOX, firefoxMissing } from '../test/e2e-firefox/harness.ts';

const TARGETS = { coldMs: 1500, warmMs: 150, popupMs: 150, heatmapMs: 150, packedBytes: 5 * 1024 * 1024 };
/** Issue 21's targets for Firefox. */
const FIREFOX_TARGETS = { coldMs: 3000, warmMs: 200, popupMs: 300 };

const { values } = parseArgs({
  options: {
    cold: { type: 'string', default: '3' },
    warm: { type: 'string', default: '20' },
    popup: { type: 'string', default: '20' },
    heatmap: { type: 'string', default: '50' },
    // firefox: Firefox's right-click and popup times beside Chrome's (both measured in this run).
    browser: { type: 'string', default: 'chrome' },
  },
});
if (!['chrome', 'firefox'].includes(values.browser!)) throw new Error(`--browser ${values.browser}: use chrome or firefox`);
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
    for (const name of readdirSync(dir))
      if (/^dermlens.*\.zip$/.test(name) && !name.endsWith('-firefox.zip')) candidates.push(join(dir, name));
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
  const session = await launchWithExtension();
  try {
    return await timePopupUploads(await session.openPopup(), server, runs.popup);
  } finally {
    await session.close();
  }
}

function row(label: string, value: string, target: string, pass: boolean) {
  console.log(`${label.padEnd(44)} ${value.padStart(12)}   target ${target.padEnd(10)} ${pass ? 'PASS' : 'FAIL'}`);
}

/** Runs the Firefox measurements and prints them beside Chrome's from this run. */
async function printFirefoxBeside(server: FixtureServer, chrome: { cold: number[]; warm: number[]; popup: number[] }) {
  const missing = firefoxMissing();
  if (missing) {
    console.log(`\nFirefox: not measured (${missing})`);
    return;
  }
  ensureBuilt('firefox');
  const firefox = await benchFirefox(server, runs);
  const version = execFileSync(FIREFOX, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  console.log(`\n${version}, beside Chrome (medians, ms; Firefox targets from issue 21)`);
  const list = (times: number[]) => times.map((x) => x.toFixed(0)).join(', ');
  for (const [name, times] of [
    ['cold', firefox.cold],
    ['cold after suspension', firefox.coldAfterSuspension],
    ['warm', firefox.warm],
    ['warm, chosen-item blink off', firefox.warmNoBlink],
  ] as const)
    console.log(
      `firefox ${name} (ms), from the menu choice: ${list(times.fromChoice)}; from menus.onClicked: ${list(times.fromOnClicked)}`,
    );
  console.log(`firefox popup runs (ms): ${list(firefox.popup)}`);
  const line = (label: string, c: number[] | null, f: number[], target: number) =>
    console.log(
      `${label.padEnd(52)} ${(c ? median(c).toFixed(0) : '-').padStart(7)} ${median(f).toFixed(0).padStart(8)}   target <= ${String(target).padEnd(6)} ${median(f) <= target ? 'PASS' : 'FAIL'}`,
    );
  console.log(`${'what (Chrome: timed from the click handler)'.padEnd(52)} ${'Chrome'.padStart(7)} ${'Firefox'.padStart(8)}`);
  line('right-click -> card, cold (fresh profile)', chrome.cold, firefox.cold.fromOnClicked, FIREFOX_TARGETS.coldMs);
  line('  the same from the menu choice', null, firefox.cold.fromChoice, FIREFOX_TARGETS.coldMs);
  line('right-click -> card, cold (event page woken)', null, firefox.coldAfterSuspension.fromOnClicked, FIREFOX_TARGETS.coldMs);
  line('  the same from the menu choice', null, firefox.coldAfterSuspension.fromChoice, FIREFOX_TARGETS.coldMs);
  line('right-click -> card, warm', chrome.warm, firefox.warm.fromOnClicked, FIREFOX_TARGETS.warmMs);
  line('  the same from the menu choice', null, firefox.warm.fromChoice, FIREFOX_TARGETS.warmMs);
  line('  from the menu choice, chosen-item blink off', null, firefox.warmNoBlink.fromChoice, FIREFOX_TARGETS.warmMs);
  line('popup upload -> result', chrome.popup, firefox.popup, FIREFOX_TARGETS.popupMs);
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
    if (values.browser === 'firefox') await printFirefoxBeside(server, { cold, warm, popup });
  } finally {
    await server.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
