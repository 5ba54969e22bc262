// Privacy: classifying makes no network request other than fetching the right-clicked image.
// Two independent records: Chromium's own NetLog (every URL request the browser made, from any
// context, from launch to exit, so nothing can slip past before a debugger attaches) and the
// fixture server's access log (which tells the extension's fetch() from the page's <img> loads by
// Sec-Fetch-Dest).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ElementHandle } from 'puppeteer-core';
import { launchWithExtension, stateLog, waitForDeepSelector, waitForFinalState, type ExtensionSession } from './harness.ts';
import { startFixtureServer, type FixtureServer } from './fixture-server.ts';
import { assertResult } from './assertions.ts';

let server: FixtureServer;
let session: ExtensionSession | undefined;
let dir: string;
let netLog: string;

before(async () => {
  server = await startFixtureServer();
  dir = mkdtempSync(join(tmpdir(), 'dermlens-netlog-'));
  netLog = join(dir, 'netlog.json');
  // The user has granted the CDN host (see harness grantedHosts), so the cross-origin image is
  // fetched by the extension itself rather than refused.
  session = await launchWithExtension({
    grantedHosts: [`http://${new URL(server.otherOrigin).hostname}/*`],
    args: [`--log-net-log=${netLog}`, '--net-log-capture-mode=Default'],
  });
});

after(async () => {
  await session?.close();
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface NetRequest {
  url: string;
  /** The origin the request was made for; "not an origin" for Chromium's own background requests. */
  initiator: string;
}

const sentinelUrl = () => `${server.origin}/netlog-sentinel`;

/**
 * The NetLog text once complete. The network service writes it and may still be finishing when the
 * browser has exited; if it never completes (the process was stopped mid-write), the events written
 * so far are kept by closing the event list after the last whole event line.
 */
async function readNetLog(path: string): Promise<string> {
  let text = '';
  for (let i = 0; i < 50; i++) {
    text = readFileSync(path, 'utf8');
    try {
      JSON.parse(text);
      return text;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  // Event lines look like `{...},\n`: keep up to the last complete one and close the list.
  const lastEvent = text.lastIndexOf('},\n');
  return `${text.slice(0, lastEvent + 1)}]}`;
}

/** Every request the network stack started (URL_REQUEST_START_JOB events) with its initiator. */
function netLogRequests(netLogJson: string): NetRequest[] {
  const log = JSON.parse(netLogJson) as {
    constants: { logEventTypes: Record<string, number> };
    events: { type: number; params?: { url?: string; initiator?: string } }[];
  };
  const startJob = log.constants.logEventTypes.URL_REQUEST_START_JOB;
  return log.events
    .filter((e) => e.type === startJob && e.params?.url)
    .map((e) => ({ url: e.params!.url!, initiator: e.params!.initiator ?? 'none' }));
}

test('only the clicked images are fetched, and nothing leaves the machine', async () => {
  const s = session!;
  const page = await s.openPage(server.urls.page);
  const tabId = await s.grantActiveTab(page);
  const extensionId = s.extensionId;
  const pageLoadedAt = server.log.length;
  const clicked = [server.urls.lesionPng, server.urls.crossOriginJpeg, server.urls.dataUrl];
  for (const url of clicked) {
    const before = (await stateLog(page)).length;
    await s.classifyUrl(url, tabId);
    assertResult(await waitForFinalState(page, before));
  }
  // The popup must not phone home either, including when it classifies an upload.
  const popup = await s.openPopup();
  const uploadPath = join(dir, 'upload.png');
  writeFileSync(uploadPath, server.lesionPng);
  const input = (await waitForDeepSelector(popup, 'dermlens-popup >>> input[type=file]')) as ElementHandle<HTMLInputElement>;
  const beforeUpload = (await stateLog(popup)).length;
  await input.uploadFile(uploadPath);
  assertResult(await waitForFinalState(popup, beforeUpload, { tag: 'dermlens-popup' }));
  await popup.close();
  // A last request from the page, after everything above: NetLog events are written in order, so
  // finding it in the file proves the file holds every earlier request.
  const activityEnd = server.log.length;
  await page.evaluate((url: string) => fetch(url).then((r) => r.status), sentinelUrl());
  await page.close();
  await s.close();
  session = undefined;

  // Fixture server: after the page had loaded, only clicked http(s) images were requested, each by
  // the extension's fetch (Sec-Fetch-Dest: empty), not by an <img> the extension added to the page.
  const httpClicked = clicked.filter((u) => u.startsWith('http'));
  const extensionRequests = server.log.slice(pageLoadedAt, activityEnd);
  assert.deepEqual(
    extensionRequests.filter((r) => !httpClicked.includes(r.url)).map((r) => r.url),
    [],
    'requests for anything other than the clicked images',
  );
  for (const url of httpClicked) {
    const hits = extensionRequests.filter((r) => r.url === url);
    assert.ok(hits.length >= 1, `the extension never fetched ${url}`);
    for (const hit of hits) assert.equal(hit.secFetchDest, 'empty', `${url} was loaded with Sec-Fetch-Dest ${hit.secFetchDest}`);
  }

  // NetLog: everything the extension (initiator chrome-extension://<id>) or any web content asked
  // the network for. Chromium's own background requests (initiator "not an origin", e.g. its
  // clock check) are not the extension's and are left out.
  const requests = netLogRequests(await readNetLog(netLog));
  assert.ok(
    requests.some((r) => r.url === sentinelUrl()),
    'the NetLog is missing its last requests',
  );
  const extensionOrigin = `chrome-extension://${extensionId}`;
  const fixture = (u: string) => u.startsWith(`${server.origin}/`) || u.startsWith(`${server.otherOrigin}/`);
  const own = (u: string) => u.startsWith(`${extensionOrigin}/`) || u.startsWith(`blob:${extensionOrigin}/`) || u.startsWith('data:');
  const fromExtension = requests.filter((r) => r.initiator === extensionOrigin);
  assert.ok(
    fromExtension.some((r) => r.url === server.urls.crossOriginJpeg),
    `the NetLog did not record the extension's fetch: ${JSON.stringify(fromExtension)}`,
  );
  assert.deepEqual(
    [...new Set(fromExtension.filter((r) => !own(r.url) && !httpClicked.includes(r.url)).map((r) => r.url))],
    [],
    'the extension requested something other than the clicked images and its own files',
  );
  const fromContent = requests.filter((r) => r.initiator !== 'not an origin' && r.initiator !== extensionOrigin);
  assert.deepEqual(
    [...new Set(fromContent.filter((r) => !fixture(r.url) && !own(r.url)).map((r) => `${r.initiator} -> ${r.url}`))],
    [],
    'requests to other hosts made from the page or the overlay',
  );
});
