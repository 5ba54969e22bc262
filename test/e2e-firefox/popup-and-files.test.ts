// The popup's upload path in a real Firefox, and "every input gets the same answer": the good and hostile
// files of test/helpers/hostile-images.ts uploaded in the popup get exactly the CLI's message or the
// CLI's probabilities (Firefox decodes with its own image decoders, so this is where a difference would
// show); a few of them right-clicked on a page too. Also the dermoscopy gate's notice for a picture that
// is not a dermoscopic image, and the same result for the same image on both paths.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { ElementHandle, Page } from 'puppeteer-core';
import { CLASS_CODES } from '../../core/labels.ts';
import { hostileCases, type HostileCase } from '../helpers/hostile-images.ts';
import { stateLog, waitForDeepSelector, waitForFinalState, type StateEntry } from '../e2e/harness.ts';
import { assertResult } from '../e2e/assertions.ts';
import { useFirefox } from './harness.ts';

let popup: Page;
const ff = useFirefox({}, async ({ session }) => {
  popup = await session.openExtensionPage('popup.html');
});
const skip = ff.skip;

interface Fixture {
  cases: HostileCase[];
  dir: string;
  /** Serves every file with its case's Content-Type, on a page of <img>s. */
  origin: string;
  server: Server;
  /** The CLI's probabilities (CLASS_CODES order) for every accepted file. */
  cli: Map<string, number[]>;
}

/** Started at load, while Firefox starts (not at all where Firefox is missing). */
let ready: Promise<Fixture> | undefined;
if (!skip) void fixture().catch(() => undefined); // each test awaits it and reports its failure
function fixture(): Promise<Fixture> {
  ready ??= (async () => {
    const cases = await hostileCases();
    const dir = mkdtempSync(join(tmpdir(), 'dermlens-firefox-files-'));
    for (const c of cases) writeFileSync(join(dir, c.name), c.bytes);
    const accepted = cases.filter((c) => c.expect === 'accept');
    // wasm: the backend the add-on runs (and 5x faster than cpu for this network).
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['bin/dermlens.js', 'classify', '--json', '--backend', 'wasm', ...accepted.map((c) => join(dir, c.name))],
      { timeout: 170_000 },
    );
    const cli = new Map<string, number[]>();
    for (const line of stdout.split('\n').filter((l) => l.startsWith('{'))) {
      const { file, predictions } = JSON.parse(line) as { file: string; predictions: { code: string; probability: number }[] };
      cli.set(
        file.slice(dir.length + 1),
        CLASS_CODES.map((code) => predictions.find((p) => p.code === code)!.probability),
      );
    }
    const server = createServer((request, response) => {
      if (request.url === '/') {
        // Far apart, so the card of one never covers the next one a test right-clicks.
        const images = cases.map(
          (c, i) =>
            `<img id="f${i}" src="/${encodeURIComponent(c.name)}" alt="" width="64" height="48" style="display:block;margin-bottom:900px">`,
        );
        response
          .writeHead(200, { 'content-type': 'text/html' })
          .end(`<!doctype html><link rel="icon" href="data:,"><body>${images.join('')}</body>`);
        return;
      }
      const found = cases.find((c) => `/${encodeURIComponent(c.name)}` === request.url);
      if (!found) {
        response.writeHead(404).end();
        return;
      }
      response.writeHead(200, { 'content-type': found.contentType, 'content-length': found.bytes.length }).end(found.bytes);
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    return { cases, dir, server, cli, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  })();
  return ready;
}

after(async () => {
  if (!ready) return;
  const { server, dir } = await ready;
  await new Promise((done) => server.close(done));
  rmSync(dir, { recursive: true, force: true });
});

/** The CLI's answer: its probabilities (within decoder rounding), or the table's message. */
function assertSameAnswer(cli: Map<string, number[]>, c: HostileCase, entry: StateEntry, message: (expected: string) => string) {
  if (c.expect === 'accept') {
    const probabilities = assertResult(entry);
    const expected = cli.get(c.name)!;
    const worst = Math.max(...probabilities.map((p, i) => Math.abs(p - expected[i])));
    assert.ok(
      worst < 0.03,
      `${c.name}: Firefox's probabilities ${probabilities.map((p) => p.toFixed(3))} differ from the CLI's ${expected.map((p) => p.toFixed(3))} by ${worst.toFixed(3)}`,
    );
  } else {
    assert.equal(entry.state, 'error', `${c.name}: expected the refusal "${c.expect}", got state ${entry.state}`);
    assert.equal(entry.error, message(c.expect), c.name);
  }
}

async function upload(path: string): Promise<StateEntry> {
  const input = (await waitForDeepSelector(popup, 'dermlens-popup >>> input[type=file]')) as ElementHandle<HTMLInputElement>;
  const before = (await stateLog(popup)).length;
  await input.uploadFile(path);
  return waitForFinalState(popup, before, { tag: 'dermlens-popup', timeout: 60_000 });
}

test(
  'popup upload: every good and hostile file gets the CLI\'s answer, as "<file name>: <message>"',
  { skip, timeout: 300_000 },
  async () => {
    const { cases, cli, dir } = await fixture();
    for (const c of cases) assertSameAnswer(cli, c, await upload(join(dir, c.name)), (expected) => `${c.name}: ${expected}`);
  },
);

test("right-click: every file Firefox shows as an image on a page gets the CLI's answer", { skip, timeout: 300_000 }, async () => {
  const { cases, cli, origin } = await fixture();
  const page = await ff.session.openPage(`${origin}/`);
  // Firefox offers the image menu only for an <img> it could display; the others cannot be right-clicked.
  const shown = await page.evaluate(() =>
    [...document.images].flatMap((img) => (img.complete && img.naturalWidth > 0 ? [Number(img.id.slice(1))] : [])),
  );
  const refused = shown.filter((i) => cases[i]!.expect !== 'accept');
  assert.ok(shown.length - refused.length >= 8 && refused.length >= 1, `too few files shown: ${shown.map((i) => cases[i]!.name)}`);
  for (const index of shown) {
    const c = cases[index]!;
    assertSameAnswer(cli, c, await ff.session.classifyByMenu(page, `#f${index}`, { timeout: 60_000 }), (expected) => expected);
  }
  await page.close();
});

test('the dermoscopy gate: a picture that is not a dermoscopic image gets the notice, on the page and in the popup', { skip }, async () => {
  const { session, server } = ff;
  // A page screenshot is about as far from dermoscopy as a picture gets.
  const page = await session.openPage(server.urls.page);
  const shot = await page.screenshot({ type: 'png' });
  const dir = mkdtempSync(join(tmpdir(), 'dermlens-firefox-gate-'));
  try {
    const path = join(dir, 'screenshot.png');
    writeFileSync(path, shot);
    const uploaded = await upload(path);
    assertResult(uploaded);
    const flagged = await popup.evaluate(() =>
      document.querySelector('dermlens-popup')!.shadowRoot!.innerHTML.includes('data-part="not-dermoscopic"'),
    );
    const card = await popup.evaluate(() => {
      const card = document.querySelector('dermlens-popup')!.shadowRoot!.querySelector('dermlens-card');
      return card?.shadowRoot?.querySelector('[data-part="not-dermoscopic"]')?.textContent?.replace(/\s+/g, ' ').trim() ?? null;
    });
    assert.ok(flagged || card, 'the popup shows no dermoscopy notice for a screenshot');
    assert.match(card ?? '', /dermoscop/i);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await page.close();
  }
});
