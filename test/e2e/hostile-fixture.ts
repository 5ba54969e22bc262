// The shared half of "every input gets the same answer" in both browsers (test/e2e/hostile-inputs.test.ts,
// test/e2e-firefox/popup-and-files.test.ts): the good and hostile files of test/helpers/hostile-images.ts
// written to a folder, the CLI's probabilities for every accepted one, a server that gives each file its
// case's (plausible, often wrong) Content-Type and, at /, a page of <img>s, and the check that an extension
// answer is the CLI's.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { CLASS_CODES } from '../../core/labels.ts';
import { hostileCases, type HostileCase } from '../helpers/hostile-images.ts';
import type { StateEntry } from './harness.ts';
import { assertResult } from './assertions.ts';

export interface HostileFixture {
  cases: HostileCase[];
  /** Where the files are written, for the popup's file input and the CLI. */
  dir: string;
  /** Serves every file with its case's Content-Type, and at / a page of <img id="f<case index>">s. */
  origin: string;
  server: Server;
  /** The CLI's probabilities (CLASS_CODES order) for every accepted file. */
  cli: Map<string, number[]>;
}

/** Writes the files, asks the CLI (on `backend`) for its answers and starts the server. */
export async function startHostileFixture(backend: 'cpu' | 'wasm'): Promise<HostileFixture> {
  const cases = await hostileCases();
  const dir = mkdtempSync(join(tmpdir(), 'dermlens-hostile-e2e-'));
  for (const c of cases) writeFileSync(join(dir, c.name), c.bytes);
  const accepted = cases.filter((c) => c.expect === 'accept');
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['bin/dermlens.js', 'classify', '--json', '--backend', backend, ...accepted.map((c) => join(dir, c.name))],
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
    if (request.url === '/') {
      // Far apart, so the card of one never covers the next one a test right-clicks.
      const images = cases.map(
        (c, i) =>
          `<img id="f${i}" src="/${encodeURIComponent(c.name)}" alt="" width="64" height="48" style="display:block;margin-bottom:900px">`,
      );
      response
        .writeHead(200, { 'content-type': 'text/html' })
        .end(`<!doctype html><link rel="icon" href="data:,"><body>${images.join('')}</body>`);
      return;
    }
    const found = cases.find((c) => `/${encodeURIComponent(c.name)}` === request.url);
    if (!found) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': found.contentType, 'content-length': found.bytes.length }).end(found.bytes);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { cases, dir, server, cli, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

export async function stopHostileFixture({ server, dir }: HostileFixture): Promise<void> {
  await new Promise((done) => server.close(done));
  rmSync(dir, { recursive: true, force: true });
}

/** The CLI's answer: its probabilities (within decoder rounding), or the table's message (as `message` words it). */
export function assertSameAnswer(
  cli: Map<string, number[]>,
  c: HostileCase,
  entry: StateEntry,
  message: (expected: string) => string,
): void {
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
