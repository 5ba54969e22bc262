// `npx tsx scripts/screenshots-firefox.ts`: what a person sees in Firefox, written to screenshots/:
// the card on the tests' page after a real right-click (firefox-card.png), the popup's camera view sending
// the user to the permission page (firefox-popup-camera.png), and the camera-permission page while
// Firefox's prompt is up (firefox-camera-permission.png; headless Firefox draws the page, not its prompt).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startFixtureServer } from '../test/e2e/fixture-server.ts';
import { waitForDeepSelector } from '../test/e2e/harness.ts';
import { REPO_ROOT } from '../test/e2e/build.ts';
import { launchFirefox } from '../test/e2e-firefox/harness.ts';

const out = join(REPO_ROOT, 'screenshots');
mkdirSync(out, { recursive: true });
const server = await startFixtureServer();
const session = await launchFirefox({ fakeCamera: true });
try {
  const page = await session.openPage(server.urls.page);
  await page.setViewport({ width: 1000, height: 700 });
  const entry = await session.classifyByMenu(page, '#lesion-png');
  if (entry.state !== 'result') throw new Error(`the card shows ${entry.state}: ${entry.error}`);
  await new Promise((resolve) => setTimeout(resolve, 300)); // the card's placement settles
  await page.screenshot({ path: join(out, 'firefox-card.png') });

  const popup = await session.openExtensionPage('popup.html');
  await popup.setViewport({ width: 380, height: 600 });
  await (await waitForDeepSelector(popup, 'dermlens-popup >>> .sources button::-p-text(Camera)')).click();
  await (await waitForDeepSelector(popup, 'dermlens-popup >>> dermlens-camera >>> button::-p-text(Start camera)')).click();
  await waitForDeepSelector(popup, 'dermlens-popup >>> dermlens-camera >>> [role=status]::-p-text(permission page)');
  await popup.screenshot({ path: join(out, 'firefox-popup-camera.png') });

  await (await waitForDeepSelector(popup, 'dermlens-popup >>> dermlens-camera >>> button::-p-text(Open camera permission page)')).click();
  const permission = await session.waitForExtensionPage('permission.html');
  await permission.setViewport({ width: 900, height: 400 });
  await permission.waitForFunction(() => document.querySelector('dermlens-camera-permission')?.getAttribute('state') === 'asking');
  await permission.screenshot({ path: join(out, 'firefox-camera-permission.png') });
  console.log(`screenshots written to ${out}: firefox-card.png, firefox-popup-camera.png, firefox-camera-permission.png`);
} finally {
  await session.close();
  await server.close();
}
