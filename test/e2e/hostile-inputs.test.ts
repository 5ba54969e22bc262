// The extension's side of "every input gets the same answer": the good and hostile files of
// test/helpers/hostile-images.ts, right-clicked on a page (served with plausible, often wrong,
// Content-Types) and uploaded in the popup. Each refused file gets exactly the message of the table,
// which is the CLI's (test/node/classify-hostile.test.ts), and each accepted file gets the CLI's
// probabilities (so both decoded the same upright picture: EXIF orientation, a GIF's first frame, BMP).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { ElementHandle, Page } from 'puppeteer-core';
import { CLASS_CODES } from '../../core/labels.ts';
import { hostileCases, type HostileCase } from '../helpers/hostile-images.ts';
import { stateLog, useExtensionPage, waitForDeepSelector, waitForFinalState, type StateEntry } from './harness.ts';
import { assertResult } from './assertions.ts';

const e2e = useExtensionPage((urls) => urls.page, { grantedHosts: ['http://127.0.0.1/*'] });

interface Fixture {
  cases: HostileCase[];
  /** Where the files are written, for the popup's file input and the CLI. */
  dir: string;
  /** Serves every file with its case's Content-Type. */
  origin: string;
  server: Server;
  /** The CLI's probabilities (CLASS_CODES order) for every accepted file. */
  cli: Map<string, number[]>;
}

/** Started at load and awaited by each test (a second top-level before() would not be waited for; see harness.ts). */
const ready: Promise<Fixture> = (async () => {
  const cases = await hostileCases();
  const dir = mkdtempSync(join(tmpdir(), 'dermlens-hostile-e2e-'));
  for (const c of cases) writeFileSync(join(dir, c.name), c.bytes);
  const accepted = cases.filter((c) => c.expect === 'accept');
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['bin/dermlens.js', 'classify', '--json', '--backend', 'cpu', ...accepted.map((c) => join(dir, c.name))],
    { timeout: 170_000 },
  );
  const cli = new Map<string, number[]>();
  for (const line of stdout.split('\n').filter((l) => l.startsWith('{'))) {
    const { file, predictions } = JSON.parse(line) as { file: string; predictions: { code: string; probability: number }[] };
    cli.set(
      file.slice(dir.length + 1),
      CLASS_CODES.map((code) => predictions.find((p) => p.code === code)!.probability),
    );
  }
  const server = createServer((request, response) => {
    const found = cases.find((c) => `/${encodeURIComponent(c.name)}` === request.url);
    if (!found) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': found.contentType, 'content-length': found.bytes.length }).end(found.bytes);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { cases, dir, server, cli, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
})();

after(async () => {
  const { server, dir } = await ready;
  await new Promise((done) => server.close(done));
  rmSync(dir, { recursive: true, force: true });
});

/** The same answer as the CLI: its probabilities (within decoder rounding), or the table's message. */
function assertSameAnswer(cli: Map<string, number[]>, c: HostileCase, entry: StateEntry, message: (expected: string) => string) {
  if (c.expect === 'accept') {
    const probabilities = assertResult(entry);
    const expected = cli.get(c.name)!;
    const worst = Math.max(...probabilities.map((p, i) => Math.abs(p - expected[i])));
    assert.ok(
      worst < 0.03,
      `${c.name}: the extension's probabilities ${probabilities.map((p) => p.toFixed(3))} differ from the CLI's ${expected.map((p) => p.toFixed(3))} by ${worst.toFixed(3)}`,
    );
  } else {
    assert.equal(entry.state, 'error', `${c.name}: expected the refusal "${c.expect}", got state ${entry.state}`);
    assert.equal(entry.error, message(c.expect), c.name);
  }
}

test("right-click: every file gets the CLI's answer, whatever its Content-Type says", { timeout: 300_000 }, async () => {
  const { cases, cli, origin } = await ready;
  for (const c of cases) {
    assertSameAnswer(cli, c, await e2e.classify(`${origin}/${encodeURIComponent(c.name)}`, 60_000), (expected) => expected);
  }
});

test('popup upload: every file gets the CLI\'s answer, as "<file name>: <message>"', { timeout: 300_000 }, async () => {
  const { cases, cli, dir } = await ready;
  const popup: Page = await e2e.session.openPopup();
  for (const c of cases) {
    const input = (await waitForDeepSelector(popup, 'dermlens-popup >>> input[type=file]')) as ElementHandle<HTMLInputElement>;
    const before = (await stateLog(popup)).length;
    await input.uploadFile(join(dir, c.name));
    assertSameAnswer(
      cli,
      c,
      await waitForFinalState(popup, before, { tag: 'dermlens-popup', timeout: 60_000 }),
      (expected) => `${c.name}: ${expected}`,
    );
  }
});
