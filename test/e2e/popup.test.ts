// The popup's upload flow: choosing an image file classifies it in the popup; a file that is not
// a supported image gives a clear message and the next upload still works.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ElementHandle, Page } from 'puppeteer-core';
import { launchWithExtension, stateLog, waitForDeepSelector, waitForFinalState, type ExtensionSession } from './harness.ts';
import { startFixtureServer, type FixtureServer } from './fixture-server.ts';
import { assertReadableError, assertResult } from './assertions.ts';

let server: FixtureServer;
let session: ExtensionSession;
let popup: Page;
let dir: string;

before(async () => {
  server = await startFixtureServer();
  session = await launchWithExtension();
  popup = await session.openPopup();
  dir = mkdtempSync(join(tmpdir(), 'dermlens-upload-'));
});

after(async () => {
  await session?.close();
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function fileInput(): Promise<ElementHandle<HTMLInputElement>> {
  // `>>>` pierces open shadow roots (the popup is the extension's own page, so its root is open).
  return (await waitForDeepSelector(popup, 'dermlens-popup >>> input[type=file]')) as ElementHandle<HTMLInputElement>;
}

async function upload(name: string, bytes: Buffer) {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  const before = (await stateLog(popup)).length;
  await (await fileInput()).uploadFile(path);
  return waitForFinalState(popup, before, { tag: 'dermlens-popup' });
}

/**
 * Uploads a file the popup should refuse and returns the message the user sees: either the popup's
 * error state (data-state="error", data-error) or the upload box's alert, which rejects files by
 * their bytes before anything is classified.
 */
async function uploadRejected(name: string, bytes: Buffer): Promise<string> {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  const before = (await stateLog(popup)).length;
  await (await fileInput()).uploadFile(path);
  const fromState = waitForFinalState(popup, before, { tag: 'dermlens-popup' }).then((entry) => assertReadableError(entry, /./));
  const fromAlert = popup
    .waitForFunction(
      (file: string) => {
        // No named inner functions here: tsx would wrap them in __name(), undefined in the page.
        const alerts: string[] = [];
        const roots: (Document | ShadowRoot)[] = [document];
        while (roots.length) {
          const root = roots.pop()!;
          root.querySelectorAll('[role=alert]').forEach((el) => alerts.push(el.textContent ?? ''));
          root.querySelectorAll('*').forEach((el) => el.shadowRoot && roots.push(el.shadowRoot));
        }
        return alerts.find((text) => text.includes(file)) ?? false;
      },
      // Interval polling: a 'mutation' poll watches the light DOM only and misses shadow-root changes.
      { timeout: 30_000, polling: 100 },
      name,
    )
    .then(async (handle) => (await handle.jsonValue()) as string);
  return Promise.any([fromState, fromAlert]).catch((error: AggregateError) => {
    throw new Error(`no message for ${name}: ${error.errors.map((e: Error) => e.message).join(' / ')}`);
  });
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
  assertResult(await upload('lesion.png', server.lesionPng));
});

test('uploading a JPEG shows a result', async () => {
  assertResult(await upload('lesion.jpg', server.lesionJpeg));
});

test('a text file gives a clear message, and the next upload works', async () => {
  assertReadableMessage(await uploadRejected('notes.txt', Buffer.from('not an image\n'.repeat(20))), /image|type|support|format/i);
  assertResult(await upload('lesion-again.png', server.lesionPng));
});

test('a GIF (not an accepted upload type) gives a clear message, and the next upload works', async () => {
  assertReadableMessage(await uploadRejected('animation.gif', server.gif), /GIF|type|support|format/i);
  assertResult(await upload('lesion-after-gif.jpg', server.lesionJpeg));
});

test('a corrupt file named .jpg gives a clear message, and the next upload works', async () => {
  const corrupt = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(2048, 0x5a)]);
  assertReadableMessage(await uploadRejected('broken.jpg', corrupt), /image|decode|read|corrupt|damaged|format|support/i);
  assertResult(await upload('lesion-once-more.jpg', server.lesionJpeg));
});
