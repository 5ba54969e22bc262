import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isRetryable, ReplyError, requestWithRetry, TimeoutError, unwrap, withTimeout } from '../../extension/shared/requests.ts';
import type { Reply } from '../../extension/shared/messages.ts';

const never = () => new Promise<never>(() => {});

test('withTimeout rejects with a TimeoutError carrying the message', async () => {
  await assert.rejects(withTimeout(never(), 20, 'too slow'), (e: unknown) => e instanceof TimeoutError && e.message === 'too slow');
  assert.equal(await withTimeout(Promise.resolve(7), 1000, 'x'), 7);
});

test('unwrap returns the result or throws the error text and code', () => {
  assert.equal(unwrap({ ok: true, result: 3 }), 3);
  assert.throws(
    () => unwrap({ ok: false, error: 'No access', code: 'fetch-blocked' }),
    (e: unknown) => e instanceof ReplyError && e.message === 'No access' && e.code === 'fetch-blocked',
  );
  assert.throws(() => unwrap(undefined), /No answer from DermLens/);
});

test('one retry after a timeout or a dead receiver, with the hook run in between', async () => {
  const errors = [new Error('Could not establish connection. Receiving end does not exist.'), new TimeoutError('slow')];
  for (const first of errors) {
    let calls = 0;
    let hooks = 0;
    const result = await requestWithRetry<number>(
      async () => {
        calls++;
        if (calls === 1) throw first;
        return { ok: true, result: 42 };
      },
      {
        timeoutMs: 1000,
        timeoutMessage: 't',
        beforeRetry: () => {
          hooks++;
        },
      },
    );
    assert.deepEqual([result, calls, hooks], [42, 2, 1]);
  }
  // A timeout on the first attempt: the retry is sent after the timeout fires.
  let attempts = 0;
  const answer = await requestWithRetry<string>(
    () => (++attempts === 1 ? never() : Promise.resolve({ ok: true, result: 'late' } as Reply<string>)),
    { timeoutMs: 30, timeoutMessage: 'first attempt timed out' },
  );
  assert.deepEqual([answer, attempts], ['late', 2]);
});

test('no retry for real errors, and at most one retry', async () => {
  let calls = 0;
  await assert.rejects(
    requestWithRetry(
      async () => {
        calls++;
        return { ok: false, error: 'The image is corrupt.' } as Reply<number>;
      },
      { timeoutMs: 1000, timeoutMessage: 't' },
    ),
    { message: 'The image is corrupt.' },
  );
  assert.equal(calls, 1);
  calls = 0;
  await assert.rejects(
    requestWithRetry(
      () => {
        calls++;
        return never();
      },
      { timeoutMs: 20, timeoutMessage: 'gave up' },
    ),
    { message: 'gave up' },
  );
  assert.equal(calls, 2);
  assert.equal(isRetryable(new Error('The message port closed before a response was received.')), true);
  assert.equal(isRetryable(new ReplyError('HTTP 404')), false);
});
