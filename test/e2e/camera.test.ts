// The camera flow, fed by Chromium's fake capture device playing a generated lesion clip
// (--use-file-for-fake-video-capture): choose Camera in the popup, start it, take a photo, see the
// result. Also the permission paths: not yet granted (the popup sends the user to permission.html,
// since a popup cannot show Chrome's prompt) and blocked (instructions).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Page } from 'puppeteer-core';
import { launchWithExtension, stateLog, waitForDeepSelector, waitForFinalState, type ExtensionSession } from './harness.ts';
import { writeFakeCameraClip } from './fixtures/fake-camera.ts';
import { assertResult } from './assertions.ts';

let session: ExtensionSession;
let clip: string;
let origin: string;

before(async () => {
  clip = writeFakeCameraClip({ width: 640, height: 480 });
  session = await launchWithExtension({ fakeVideo: clip });
  origin = `chrome-extension://${session.extensionId}`;
});

after(async () => {
  await session?.close();
  if (clip) rmSync(dirname(clip), { recursive: true, force: true });
});

const context = () => session.browser.defaultBrowserContext();

async function setCameraPermission(state: PermissionState) {
  await context().setPermission(origin, { permission: { name: 'camera' }, state });
}

/** Opens the popup and switches it to its camera source. */
async function popupOnCamera(): Promise<Page> {
  const popup = await session.openPopup();
  const cameraSource = await waitForDeepSelector(popup, 'dermlens-popup >>> .sources button::-p-text(Camera)');
  await cameraSource.click();
  return popup;
}

async function clickButton(popup: Page, text: string) {
  const button = await waitForDeepSelector(popup, `dermlens-popup >>> dermlens-camera >>> button::-p-text(${text})`);
  await button.click();
}

/** Whether any <video> in the popup (through open shadow roots) still holds a live track. */
function liveTracks(popup: Page): Promise<number> {
  return popup.evaluate(() => {
    let live = 0;
    const roots: (Document | ShadowRoot)[] = [document];
    while (roots.length) {
      const root = roots.pop()!;
      root.querySelectorAll('video').forEach((v) => {
        if (v.srcObject instanceof MediaStream) live += v.srcObject.getTracks().filter((t) => t.readyState === 'live').length;
      });
      root.querySelectorAll('*').forEach((el) => el.shadowRoot && roots.push(el.shadowRoot));
    }
    return live;
  });
}

test('camera granted: start, preview plays the fake clip, take photo, result shown, camera released', async () => {
  await setCameraPermission('granted');
  const popup = await popupOnCamera();
  await clickButton(popup, 'Start camera');
  const video = await waitForDeepSelector(popup, 'dermlens-popup >>> dermlens-camera >>> video');
  // Before the shot, the camera says what DermLens reads.
  const advice = await waitForDeepSelector(popup, 'dermlens-popup >>> dermlens-camera >>> [data-part="camera-before-shot"]');
  assert.match(await advice.evaluate((el) => el.textContent!.replace(/\s+/g, ' ')), /DermLens reads images taken through a dermatoscope/);
  await popup.waitForFunction(
    (v: Element) => (v as HTMLVideoElement).readyState >= 2 && (v as HTMLVideoElement).videoWidth > 0,
    { timeout: 10_000 },
    video,
  );
  const size = await video.evaluate((v) => [(v as HTMLVideoElement).videoWidth, (v as HTMLVideoElement).videoHeight]);
  assert.deepEqual(size, [640, 480], 'the preview should play the 640x480 fake clip');
  assert.equal(await liveTracks(popup), 1);
  const before = (await stateLog(popup)).length;
  await clickButton(popup, 'Take photo');
  assertResult(await waitForFinalState(popup, before, { tag: 'dermlens-popup' }));
  assert.equal(await liveTracks(popup), 0, 'the camera should be released once the photo is taken');
  // After the shot, beside the result, the same advice for the kind the gate named (the shipped model's gate: dermoscopic or other).
  const note = await waitForDeepSelector(popup, 'dermlens-popup >>> [data-part="camera-after-shot"]');
  const [noteKind, popupKind, noteText] = await note.evaluate((el) => [
    el.getAttribute('data-image-kind'),
    document.querySelector('dermlens-popup')!.getAttribute('data-image-kind'),
    el.textContent!.replace(/\s+/g, ' '),
  ]);
  assert.ok(noteKind === 'dermoscopic' || noteKind === 'other' || noteKind === 'clinical', `data-image-kind ${noteKind}`);
  assert.equal(noteKind, popupKind, 'the note and the popup agree on the kind');
  assert.match(noteText!, /Taken with the camera\. DermLens reads images taken through a dermatoscope\./);
  await popup.close();
});

test('camera not yet granted: the popup sends the user to permission.html, which gets access and closes', async () => {
  await setCameraPermission('prompt');
  const popup = await popupOnCamera();
  await clickButton(popup, 'Start camera');
  await waitForDeepSelector(popup, 'dermlens-popup >>> dermlens-camera >>> [role=status]::-p-text(permission page)');
  const opened = session.browser.waitForTarget((t) => t.url() === `${origin}/permission.html`, { timeout: 10_000 });
  await clickButton(popup, 'Open camera permission page');
  const permissionPage = (await (await opened).page())!;
  const closed = new Promise<void>((resolve) => {
    permissionPage.once('close', () => resolve());
    if (permissionPage.isClosed()) resolve();
  });
  // --use-fake-ui-for-media-stream accepts the prompt, as a user clicking Allow would. The page
  // closes itself only once access is granted (on failure it stays open with instructions).
  const timedOut = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 15_000));
  if ((await Promise.race([closed, timedOut])) === 'timeout') {
    const state = await permissionPage.evaluate(() => document.querySelector('dermlens-camera-permission')?.getAttribute('state'));
    assert.fail(`the permission page did not close itself; its state is ${state}`);
  }
  await popup.close();
});

test('camera blocked: the popup explains how to unblock it and keeps upload available', async () => {
  await setCameraPermission('denied');
  const popup = await popupOnCamera();
  await clickButton(popup, 'Start camera');
  const alert = await waitForDeepSelector(popup, 'dermlens-popup >>> dermlens-camera >>> [role=alert]');
  const text = await alert.evaluate((el) => el.textContent ?? '');
  assert.match(text, /chrome:\/\/settings\/content\/camera/);
  assert.match(text, /upload/i);
  await popup.close();
});
