// Privacy in Firefox: classifying makes no network request other than fetching the right-clicked image.
// Every request Firefox makes, from any context (pages, the add-on's event page and frames, Firefox
// itself), goes through a logging proxy for the whole session (Firefox's proxy prefs, localhost
// included), so nothing can slip past: the log must hold the pages and the clicked images only.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ElementHandle } from 'puppeteer-core';
import { stateLog, waitForDeepSelector, waitForFinalState } from '../e2e/harness.ts';
import { assertResult } from '../e2e/assertions.ts';
import { firefoxMissing, launchFirefox, type FirefoxSession } from './harness.ts';
import { startFixtureServer, type FixtureServer } from '../e2e/fixture-server.ts';

const skip = firefoxMissing();

/** What the proxy saw: the absolute URL of each request, or CONNECT host:port for a tunnel. */
const seen: string[] = [];
let proxy: Server | undefined;
let server: FixtureServer | undefined;
let session: FirefoxSession | undefined;

/** A plain HTTP proxy that logs every request, forwards those for the fixture servers and refuses the rest. */
async function startLoggingProxy(): Promise<number> {
  proxy = createServer((req, res) => {
    const url = req.url ?? '';
    seen.push(url);
    const target = new URL(url);
    if (!['127.0.0.1', 'localhost'].includes(target.hostname)) {
      res.writeHead(502).end('DermLens test proxy: no requests beyond the fixture servers');
      return;
    }
    const upstream = httpRequest(
      { host: '127.0.0.1', port: target.port, path: target.pathname + target.search, method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  proxy.on('connect', (req, socket) => {
    seen.push(`CONNECT ${req.url}`);
    socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
  });
  await new Promise<void>((done) => proxy!.listen(0, '127.0.0.1', done));
  return (proxy.address() as AddressInfo).port;
}

after(async () => {
  await session?.close();
  await server?.close();
  await new Promise((done) => (proxy ? proxy.close(done) : done(undefined)));
});

test('only the clicked images are fetched, and nothing else leaves Firefox', { skip }, async () => {
  const port = await startLoggingProxy();
  server = await startFixtureServer();
  session = await launchFirefox({
    prefs: {
      'network.proxy.type': 1,
      'network.proxy.http': '127.0.0.1',
      'network.proxy.http_port': port,
      'network.proxy.ssl': '127.0.0.1',
      'network.proxy.ssl_port': port,
      'network.proxy.allow_hijacking_localhost': true,
      'network.proxy.no_proxies_on': '',
    },
  });
  const page = await session.openPage(server.urls.page);
  const pageLoaded = seen.length;
  assert.ok(seen.includes(server.urls.page), `the proxy did not see the page load: ${JSON.stringify(seen)}`);

  assertResult(await session.classifyByMenu(page, '#lesion-png'));
  const before = (await stateLog(page)).length;
  await session.chooseMenuItem(page, '#cross-origin');
  await session.answerPrompt('addon-webext-permissions', 'allow');
  assertResult(await waitForFinalState(page, before));
  assertResult(await session.classifyByMenu(page, '#data-url'));

  // The popup must not phone home either, including when it classifies an upload.
  const popup = await session.openExtensionPage('popup.html');
  const dir = mkdtempSync(join(tmpdir(), 'dermlens-firefox-net-'));
  try {
    writeFileSync(join(dir, 'upload.png'), server.lesionPng);
    const input = (await waitForDeepSelector(popup, 'dermlens-popup >>> input[type=file]')) as ElementHandle<HTMLInputElement>;
    const beforeUpload = (await stateLog(popup)).length;
    await input.uploadFile(join(dir, 'upload.png'));
    assertResult(await waitForFinalState(popup, beforeUpload, { tag: 'dermlens-popup' }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const clicked = [server.urls.lesionPng, server.urls.crossOriginJpeg];
  const afterLoad = seen.slice(pageLoaded);
  assert.deepEqual(
    afterLoad.filter((url) => !clicked.includes(url)),
    [],
    'after the page had loaded, requests for something other than the clicked images',
  );
  for (const url of clicked) assert.ok(afterLoad.includes(url), `the add-on never fetched ${url}`);
  const fixture = (url: string) => url.startsWith(`${server!.origin}/`) || url.startsWith(`${server!.otherOrigin}/`);
  assert.deepEqual(
    seen.filter((url) => !fixture(url)),
    [],
    'requests beyond the fixture servers, from any part of Firefox, since launch',
  );
});
