// MV3 stops service workers whenever it likes. Killing the worker in the middle of a
// classification must not leave the card spinning forever: the request completes (the model lives
// in the offscreen document) or the card shows a clear error; and the next classification works.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
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
  page = await session.openPage(server.urls.page);
  tabId = await session.grantActiveTab(page);
});

after(async () => {
  await session?.close();
  await server?.close();
});

async function killServiceWorker() {
  const target = await session.serviceWorkerTarget();
  const worker = await target.worker();
  assert.ok(worker);
  await worker.close(); // Target.closeTarget + detach: Chrome stops the worker
  const deadline = Date.now() + 10_000;
  while (session.browser.targets().includes(target) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.ok(!session.browser.targets().includes(target), 'service worker did not stop');
}

function assertResultOrClearError(entry: Awaited<ReturnType<typeof waitForFinalState>>) {
  if (entry.state === 'result') assertResult(entry);
  else assertReadableError(entry, /service|extension|restart|interrupt|try again|stopped|lost|timed? ?out/i);
}

test('worker killed during the first (cold) classification: result or clear error, then recovery', async (t) => {
  const before = (await stateLog(page)).length;
  const startedAt = await session.startClassifyUrl(server.urls.lesionPng, tabId);
  // Kill it once the card says it is working, i.e. while the request is in flight.
  await page.waitForFunction(
    (after: number) =>
      ((window as unknown as { __dermlensStates?: { state: string }[] }).__dermlensStates ?? []).slice(after).some((e) => e.state === 'loading'),
    { timeout: 10_000, polling: 'mutation' },
    before,
  );
  await killServiceWorker();
  const outcome = await waitForFinalState(page, before, { timeout: 90_000 });
  t.diagnostic(`after the kill: ${outcome.state} ${outcome.at - startedAt} ms after the click`);
  assertResultOrClearError(outcome);

  const next = (await stateLog(page)).length;
  await session.classifyUrl(server.urls.lesionJpeg, tabId); // wakes a fresh worker
  assertResult(await waitForFinalState(page, next));
});

test('worker killed while idle: the next classification starts a new worker and works', async () => {
  await killServiceWorker();
  const next = (await stateLog(page)).length;
  await session.classifyUrl(server.urls.lesionJpeg, tabId);
  assertResult(await waitForFinalState(page, next));
});

test('worker killed during a warm classification: result or clear error, then recovery', async (t) => {
  const before = (await stateLog(page)).length;
  const startedAt = await session.startClassifyUrl(server.urls.lesionPng, tabId);
  await killServiceWorker();
  const outcome = await waitForFinalState(page, before, { timeout: 90_000 });
  t.diagnostic(`after the kill: ${outcome.state} ${outcome.at - startedAt} ms after the click`);
  assertResultOrClearError(outcome);
  const next = (await stateLog(page)).length;
  await session.classifyUrl(server.urls.dataUrl, tabId);
  assertResult(await waitForFinalState(page, next));
});
