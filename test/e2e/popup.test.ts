// The popup's upload flow: choosing an image file classifies it in the popup; a file that is not
// a supported image replaces the previous photo and result with a clear, mirrored error, and the
// next upload still works.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ElementHandle, Page } from 'puppeteer-core';
import sharp from 'sharp';
import { stateLog, useExtension, waitForDeepSelector, waitForFinalState, type StateEntry } from './harness.ts';
import { assertReadableError, assertResult } from './assertions.ts';

let popup: Page;
let dir: string;
const e2e = useExtension({}, async ({ session }) => {
  popup = await session.openPopup();
  dir = mkdtempSync(join(tmpdir(), 'dermlens-upload-'));
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function fileInput(): Promise<ElementHandle<HTMLInputElement>> {
  // `>>>` pierces open shadow roots (the popup is the extension's own page, so its root is open).
  return (await waitForDeepSelector(popup, 'dermlens-popup >>> input[type=file]')) as ElementHandle<HTMLInputElement>;
}

/** Uploads `bytes` as a file called `name` and returns the popup's next final state (result or error). */
async function upload(name: string, bytes: Buffer): Promise<StateEntry> {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  const before = (await stateLog(popup)).length;
  await (await fileInput()).uploadFile(path);
  return waitForFinalState(popup, before, { tag: 'dermlens-popup' });
}

/** What the popup shows besides its mirrored state: the preview and the result rows, and its alerts. */
async function visible() {
  return popup.evaluate(() => {
    const root = document.querySelector('dermlens-popup')!.shadowRoot!;
    const card = root.querySelector('dermlens-card')?.shadowRoot;
    // No named inner functions here: tsx would wrap them in __name(), undefined in the page.
    const alerts: string[] = [];
    const roots: (Document | ShadowRoot)[] = [document];
    while (roots.length) {
      const r = roots.pop()!;
      r.querySelectorAll('[role=alert]').forEach((el) => alerts.push((el.textContent ?? '').replace(/\s+/g, ' ').trim()));
      r.querySelectorAll('*').forEach((el) => el.shadowRoot && roots.push(el.shadowRoot));
    }
    return {
      preview: root.querySelector('figure dermlens-heatmap-preview') !== null,
      resultRows: card?.querySelectorAll('.row').length ?? 0,
      alerts,
    };
  });
}

/**
 * Uploads a file the popup should refuse (after a good upload) and returns the message the user sees:
 * the popup's error state, mirrored as data-state="error" + data-error on <dermlens-popup>, naming
 * the file; the previous photo and result gone; the message announced once, in a role=alert region.
 */
async function uploadRejected(name: string, bytes: Buffer): Promise<string> {
  assertResult(await upload(`good-before-${name}.png`, e2e.server.lesionPng));
  const entry = await upload(name, bytes);
  const message = assertReadableError(entry, new RegExp(name.replace(/\./g, '\\.')));
  assert.equal(entry.top, null, 'no top class left from the previous result');
  assert.equal(entry.probabilities, null);
  const shown = await visible();
  assert.equal(shown.preview, false, 'the previous photo is still shown next to the error');
  assert.equal(shown.resultRows, 0, 'the previous result is still shown next to the error');
  assert.equal(
    shown.alerts.filter((text) => text.includes(message)).length,
    1,
    `the error is not announced once: ${JSON.stringify(shown.alerts)}`,
  );
  return message;
}

/** The same readability rules as the card's errors, applied to a message string. */
function assertReadableMessage(message: string, about: RegExp) {
  assertReadableError({ tag: 'dermlens-popup', element: 0, state: 'error', top: null, probabilities: null, error: message, at: 0 }, about);
}

test('the popup root has an open shadow root with a file input', async () => {
  const open = await popup.evaluate(() => document.querySelector('dermlens-popup')?.shadowRoot instanceof ShadowRoot);
  assert.equal(open, true);
  const accept = await (await fileInput()).evaluate((el) => el.accept);
  assert.match(accept, /image/);
});

test('uploading a PNG shows a result', async () => {
  assertResult(await upload('lesion.png', e2e.server.lesionPng));
});

test('uploading a JPEG shows a result', async () => {
  assertResult(await upload('lesion.jpg', e2e.server.lesionJpeg));
});

test('a text file gives a clear message, and the next upload works', async () => {
  assertReadableMessage(await uploadRejected('notes.txt', Buffer.from('not an image\n'.repeat(20))), /image|type|support|format/i);
  assertResult(await upload('lesion-again.png', e2e.server.lesionPng));
});

test('a GIF is accepted like any format the CLI reads (its first frame)', async () => {
  assertResult(await upload('animation.gif', e2e.server.gif));
});

test('a TIFF (not an accepted type) gives a clear message, and the next upload works', async () => {
  const tiff = await sharp(e2e.server.lesionPng).tiff().toBuffer();
  assertReadableMessage(await uploadRejected('scan.tiff', tiff), /TIFF|type|support|format/i);
  assertResult(await upload('lesion-after-tiff.jpg', e2e.server.lesionJpeg));
});

test('a corrupt file named .jpg gives a clear message, and the next upload works', async () => {
  const corrupt = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(2048, 0x5a)]);
  assertReadableMessage(await uploadRejected('broken.jpg', corrupt), /image|decode|read|corrupt|damaged|format|support/i);
  assertResult(await upload('lesion-once-more.jpg', e2e.server.lesionJpeg));
});
