// The right-click path in a real Firefox: the page's own context menu, "Classify skin lesion", and the
// card on the image, for a same-origin, a data: and a cross-origin image without CORS (Firefox asks for
// the image's host at the click; the test answers Firefox's prompt as a person would).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'puppeteer-core';
import { stateLog, waitForFinalState } from '../e2e/harness.ts';
import { useFirefox } from './harness.ts';
import { assertReadableError, assertResult } from '../e2e/assertions.ts';

let page: Page;
const ff = useFirefox({}, async ({ session, server }) => {
  page = await session.openPage(server.urls.page);
});
const skip = ff.skip;

test('same-origin PNG: the card shows 7 probabilities summing to 1', { skip }, async () => {
  assertResult(await ff.session.classifyByMenu(page, '#lesion-png'));
});

test('same-origin JPEG and a data: URL image give results', { skip }, async () => {
  assertResult(await ff.session.classifyByMenu(page, '#lesion-jpg'));
  assertResult(await ff.session.classifyByMenu(page, '#data-url'));
});

test('the card is a closed shadow root page scripts cannot open', { skip }, async () => {
  const hosts = await page.evaluate(() =>
    [...document.querySelectorAll('dermlens-overlay')].map((el) => ({
      open: el.shadowRoot !== null,
      state: el.getAttribute('data-state'),
    })),
  );
  assert.ok(hosts.length >= 1, 'no <dermlens-overlay> in the page');
  for (const host of hosts) assert.equal(host.open, false);
});

test('cross-origin image without CORS, the user declines the host prompt: a clear message naming the host', { skip }, async () => {
  const { session, server } = ff;
  const before = (await stateLog(page)).length;
  await session.chooseMenuItem(page, '#cross-origin');
  await session.answerPrompt('addon-webext-permissions', 'deny');
  const message = assertReadableError(await waitForFinalState(page, before), /You did not allow DermLens/);
  assert.match(message, new RegExp(new URL(server.otherOrigin).hostname));
});

test('cross-origin image without CORS, the user allows the host: result, and no prompt the next time', { skip }, async () => {
  const { session } = ff;
  const before = (await stateLog(page)).length;
  await session.chooseMenuItem(page, '#cross-origin');
  await session.answerPrompt('addon-webext-permissions', 'allow');
  assertResult(await waitForFinalState(page, before));
  assertResult(await session.classifyByMenu(page, '#cross-origin'));
});
