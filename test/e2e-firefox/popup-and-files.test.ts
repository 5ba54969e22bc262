// The popup's upload path in a real Firefox, and "every input gets the same answer": the good and hostile
// files of test/helpers/hostile-images.ts uploaded in the popup get exactly the CLI's message or the
// CLI's probabilities (Firefox decodes with its own image decoders, so this is where a difference would
// show); a few of them right-clicked on a page too. Also the dermoscopy gate's notice for a picture that
// is not a dermoscopic image, and the same result for the same image on both paths.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ElementHandle, Page } from 'puppeteer-core';
import { stateLog, waitForDeepSelector, waitForFinalState, type StateEntry } from '../e2e/harness.ts';
import { assertResult } from '../e2e/assertions.ts';
import { assertSameAnswer, startHostileFixture, stopHostileFixture, type HostileFixture } from '../e2e/hostile-fixture.ts';
import { useFirefox } from './harness.ts';

let popup: Page;
const ff = useFirefox({}, async ({ session }) => {
  popup = await session.openExtensionPage('popup.html');
});
const skip = ff.skip;

/** Started at load, while Firefox starts (not at all where Firefox is missing). */
let ready: Promise<HostileFixture> | undefined;
if (!skip) void fixture().catch(() => undefined); // each test awaits it and reports its failure
function fixture(): Promise<HostileFixture> {
  // wasm: the backend the add-on runs (and 5x faster than cpu for this network).
  ready ??= startHostileFixture('wasm');
  return ready;
}

after(async () => {
  if (ready) await stopHostileFixture(await ready);
});

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
