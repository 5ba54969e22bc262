// The camera path in a real Firefox, with its fake camera (pref media.navigator.streams.fake) and its real
// permission prompt: Firefox refuses the camera in the add-on's popup until the add-on's moz-extension://
// address holds a remembered permission, so the popup leads the user to permission.html, where Firefox's
// prompt is answered (the test ticks "Remember this decision" and clicks Allow, as a person would); then
// the popup's camera takes the photo and classifies it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'puppeteer-core';
import { stateLog, waitForDeepSelector, waitForFinalState } from '../e2e/harness.ts';
import { assertResult } from '../e2e/assertions.ts';
import { useFirefox } from './harness.ts';

const ff = useFirefox({ fakeCamera: true });
const skip = ff.skip;

/** Opens the popup (in a tab) and switches it to its camera source. */
async function popupOnCamera(): Promise<Page> {
  const popup = await ff.session.openExtensionPage('popup.html');
  await (await waitForDeepSelector(popup, 'dermlens-popup >>> .sources button::-p-text(Camera)')).click();
  return popup;
}

async function clickCameraButton(popup: Page, text: string) {
  await (await waitForDeepSelector(popup, `dermlens-popup >>> dermlens-camera >>> button::-p-text(${text})`)).click();
}

const cameraPermission = (page: Page) =>
  page.evaluate(() => navigator.permissions.query({ name: 'camera' as PermissionName }).then((status) => status.state));

test(
  'camera not granted yet: the popup leads to the permission page; Allow there is remembered; the popup camera takes the photo',
  { skip },
  async () => {
    const { session } = ff;
    const popup = await popupOnCamera();
    assert.equal(await cameraPermission(popup), 'prompt');
    await clickCameraButton(popup, 'Start camera');
    const help = await waitForDeepSelector(popup, 'dermlens-popup >>> dermlens-camera >>> [role=status]::-p-text(permission page)');
    assert.match(
      await help.evaluate((el) => el.textContent ?? ''),
      /Firefox cannot ask for camera access in this popup.*Remember this decision/s,
    );

    await clickCameraButton(popup, 'Open camera permission page');
    const permissionPage = await session.waitForExtensionPage('permission.html');
    await permissionPage.waitForFunction(() => document.querySelector('dermlens-camera-permission')?.getAttribute('state') === 'asking');
    await session.answerPrompt('webRTC-shareDevices', 'allow', { remember: true });
    await permissionPage.waitForFunction(() => document.querySelector('dermlens-camera-permission')?.getAttribute('state') === 'granted');
    await session.waitForClosed(permissionPage); // the page closes itself once access is granted
    await popup.close();

    const again = await popupOnCamera();
    assert.equal(await cameraPermission(again), 'granted', 'Firefox remembers the permission for the add-on');
    await clickCameraButton(again, 'Start camera');
    const video = await waitForDeepSelector(again, 'dermlens-popup >>> dermlens-camera >>> video');
    await again.waitForFunction(
      (v: Element) => (v as HTMLVideoElement).readyState >= 2 && (v as HTMLVideoElement).videoWidth > 0,
      { timeout: 10_000 },
      video,
    );
    const before = (await stateLog(again)).length;
    await clickCameraButton(again, 'Take photo');
    assertResult(await waitForFinalState(again, before, { tag: 'dermlens-popup' }));
    await again.close();
  },
);
