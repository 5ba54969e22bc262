// Images that cannot be classified: each gives a clear, readable error on the card, and the
// extension still works for the next image.
import { after, before, test } from 'node:test';
import type { Page } from 'puppeteer-core';
import { launchWithExtension, stateLog, waitForFinalState, type ExtensionSession } from './harness.ts';
import { startFixtureServer, type FixtureServer } from './fixture-server.ts';
import { assertReadableError, assertResult } from './assertions.ts';

let server: FixtureServer;
let session: ExtensionSession;
let page: Page;
let tabId: number;

before(async () => {
  server = await startFixtureServer();
  session = await launchWithExtension();
  page = await session.openPage(server.urls.brokenPage);
  tabId = await session.grantActiveTab(page);
});

after(async () => {
  await session?.close();
  await server?.close();
});

async function classify(srcUrl: string) {
  const before = (await stateLog(page)).length;
  await session.classifyUrl(srcUrl, tabId);
  return waitForFinalState(page, before, { timeout: 60_000 });
}

async function expectErrorThenRecovery(srcUrl: string, about: RegExp) {
  assertReadableError(await classify(srcUrl), about);
  assertResult(await classify(server.urls.lesionPng));
}

test('404: clear error, then the next image works', async () => {
  await expectErrorThenRecovery(server.urls.missing, /404|not found|could not (load|fetch|download)/i);
});

test('corrupt bytes served as image/jpeg: clear error, then the next image works', async () => {
  await expectErrorThenRecovery(server.urls.corruptJpeg, /decode|corrupt|damaged|invalid|read|unsupported|not a (valid|supported)/i);
});

test('HTML served as image/png: clear error, then the next image works', async () => {
  await expectErrorThenRecovery(server.urls.htmlAsPng, /decode|corrupt|damaged|invalid|read|unsupported|not an? (valid |supported )?image/i);
});

test('12000x12000 PNG: clear error, then the next image works', async () => {
  await expectErrorThenRecovery(server.urls.hugePng, /large|big|size|pixels|dimension|12000/i);
});

test('JPEG declaring 60000x60000: clear error, then the next image works', async () => {
  await expectErrorThenRecovery(server.urls.hugeDeclaredJpeg, /large|big|size|pixels|dimension|60000|decode|corrupt|damaged|invalid|truncated/i);
});
