// MV3 stops service workers whenever it likes. Killing the worker in the middle of a
// classification must not leave the card spinning: the overlay holds a port to the worker, notices
// the kill at once and re-sends the same request to a new worker; the model (in the offscreen
// document) keeps its answer by request id. The card completes within seconds of the kill (the
// overlay's backstop timer alone would take 35 s), and the next classification works.
//
// The kill must land while the request is in flight, or the test proves nothing: the image's
// response is held by the fixture server until the kill is confirmed, and the test checks the
// order (image requested, card loading, worker stopped, then the image sent, then the result).
// The worker is stopped as Chrome stops it (ServiceWorker.stopWorker) and the stop is confirmed by
// DevTools' running-status events, which also show the restart (see service-worker.ts).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { stateLog, useExtensionPage, waitForFinalState, withDeadline, type StateEntry } from './harness.ts';
import { assertResult } from './assertions.ts';

const e2e = useExtensionPage((urls) => urls.page);

/** Well under the overlay's 35 s backstop; a cold start (model load) on a busy machine fits. */
const COMPLETES_WITHIN_MS = 10_000;
/** How long the extension may take to request the image and show the loading card (a cold start included). */
const REQUEST_SEEN_WITHIN_MS = 30_000;
const HELD_PATH = '/held-lesion.png';

/** Stops the worker; returns Date.now() once DevTools reports it stopped. */
async function killServiceWorker(): Promise<number> {
  return (await e2e.session.stopServiceWorker()).at;
}

interface Kill {
  /** State-log length before the click: the card's entries for this request come after it. */
  before: number;
  startedAt: number;
  killedAt: number;
  /** When the held image was finally sent. */
  releasedAt: number;
}

/**
 * Right-clicks the held image and stops the worker while the extension waits for that image (the
 * request has reached the server, the card says loading); sends the image only once the stop is
 * confirmed. Asserts that order.
 */
async function killDuringRequest(): Promise<Kill> {
  const { page, session, server, tabId } = e2e;
  const before = (await stateLog(page)).length;
  const held = server.hold(HELD_PATH);
  try {
    const startedAt = await session.startClassifyUrl(server.urls.heldLesionPng, tabId);
    const [request] = await Promise.all([
      withDeadline(held.arrived, REQUEST_SEEN_WITHIN_MS, 'the extension did not request the image'),
      page.waitForFunction(
        (after: number) =>
          ((window as unknown as { __dermlensStates?: { state: string }[] }).__dermlensStates ?? [])
            .slice(after)
            .some((e) => e.state === 'loading'),
        { timeout: REQUEST_SEEN_WITHIN_MS, polling: 'mutation' },
        before,
      ),
    ]);
    const killedAt = await killServiceWorker();
    assert.equal(held.releasedAt(), undefined, 'the image was sent before the kill');
    assert.ok(request.at <= killedAt, 'the image was requested before the kill');
    const settledEarly = (await stateLog(page))
      .slice(before)
      .find((e) => (e.state === 'result' || e.state === 'error') && e.at <= killedAt);
    assert.equal(settledEarly, undefined, `the card settled before the kill landed: ${JSON.stringify(settledEarly)}`);
    return { before, startedAt, killedAt, releasedAt: held.release() };
  } finally {
    held.release();
  }
}

/** The card after a kill: a result, shown within COMPLETES_WITHIN_MS of the kill (and after the image was sent). */
async function assertCompletedPromptly(t: TestContext, outcome: StateEntry, kill: Kill, statusesFrom: number) {
  const { startedAt, killedAt, releasedAt } = kill;
  t.diagnostic(`after the kill: ${outcome.state} ${outcome.at - killedAt} ms after the kill, ${outcome.at - startedAt} ms after the click`);
  t.diagnostic(`worker: ${(await e2e.session.workerMonitor()).describe(statusesFrom)}`);
  assertResult(outcome);
  assert.ok(
    outcome.at - killedAt < COMPLETES_WITHIN_MS,
    `the card took ${outcome.at - killedAt} ms after the kill (limit ${COMPLETES_WITHIN_MS} ms)`,
  );
  assert.ok(outcome.at >= releasedAt, 'the result came before the image was sent');
}

test('worker killed during the first (cold) classification: result within seconds, then recovery', async (t) => {
  const { page, server, session } = e2e;
  assert.equal(session.hasOffscreenDocument(), false, 'the model is not loaded yet (cold start)');
  const statusesFrom = (await session.workerMonitor()).log.length;
  const kill = await killDuringRequest();
  await assertCompletedPromptly(t, await waitForFinalState(page, kill.before, { timeout: 90_000 }), kill, statusesFrom);

  assertResult(await e2e.classify(server.urls.lesionJpeg)); // wakes a fresh worker
});

test('worker killed while idle: the next classification starts a new worker and works', async () => {
  await e2e.session.serviceWorker(); // running (the previous test may have left it stopped)
  await killServiceWorker();
  assertResult(await e2e.classify(e2e.server.urls.lesionJpeg));
});

test('worker killed during a warm classification: result within seconds, then recovery', async (t) => {
  const { page, server, session } = e2e;
  assert.equal(session.hasOffscreenDocument(), true, 'the model is loaded (warm)');
  const statusesFrom = (await session.workerMonitor()).log.length;
  const kill = await killDuringRequest();
  await assertCompletedPromptly(t, await waitForFinalState(page, kill.before, { timeout: 90_000 }), kill, statusesFrom);
  assertResult(await e2e.classify(server.urls.dataUrl));
});
