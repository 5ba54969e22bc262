// The right-click flow: the context-menu handler (self.dermlens.classifyUrl, called in the service
// worker because CDP cannot click context-menu items) classifies an image of the page and the result
// card appears over it. The click's activeTab grant is reproduced with grantActiveTab(); an image on
// another host (a CDN) also needs that host granted, which the user does once in a prompt that
// headless Chromium cannot answer, so a second browser starts with it granted (grantedHosts).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'puppeteer-core';
import type { Frame } from 'puppeteer-core';
import { launchWithExtension, stateLog, waitForFinalState, type ExtensionSession, type StateEntry } from './harness.ts';
import { startFixtureServer, type FixtureServer } from './fixture-server.ts';
import { assertReadableError, assertResult } from './assertions.ts';
import { CLASSES } from '../../core/labels.ts';

let server: FixtureServer;
let session: ExtensionSession;
/** A second browser in which the user has allowed DermLens to read images from the CDN host. */
let granted: ExtensionSession | undefined;
/** A third one that can look up frame ids of frames it may not script (test-only webNavigation). */
let frameLookup: ExtensionSession | undefined;
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
  await granted?.close();
  await frameLookup?.close();
  await server?.close();
});

async function grantedSession(): Promise<ExtensionSession> {
  granted ??= await launchWithExtension({ grantedHosts: [`http://${new URL(server.otherOrigin).hostname}/*`] });
  return granted;
}

/** Waits until any of `frames` reaches a final state after the given log lengths. */
async function firstFinalState(frames: { frame: Page | Frame; after: number }[], timeout = 30_000): Promise<{ frame: Page | Frame; entry: StateEntry }> {
  return Promise.any(frames.map(async ({ frame, after }) => ({ frame, entry: await waitForFinalState(frame, after, { timeout }) })));
}

interface DomNode {
  nodeName: string;
  children?: DomNode[];
  shadowRoots?: (DomNode & { shadowRootType?: string })[];
  contentDocument?: DomNode;
}

function findNodes(node: DomNode, name: string, out: DomNode[] = []): DomNode[] {
  if (node.nodeName === name) out.push(node);
  for (const child of [...(node.children ?? []), ...(node.shadowRoots ?? []), ...(node.contentDocument ? [node.contentDocument] : [])]) {
    findNodes(child, name, out);
  }
  return out;
}

async function classifyAndWait(srcUrl: string) {
  const before = (await stateLog(page)).length;
  await session.classifyUrl(srcUrl, tabId);
  return waitForFinalState(page, before);
}

test('same-origin PNG: the card shows 7 probabilities summing to 1', async () => {
  assertResult(await classifyAndWait(server.urls.lesionPng));
});

test('the card lives in a closed shadow root that page scripts cannot open, and shows the result', async () => {
  const hosts = await page.evaluate(() =>
    [...document.querySelectorAll('dermlens-overlay')].map((el) => ({ shadowRoot: el.shadowRoot === null ? null : 'open', state: el.getAttribute('data-state') })),
  );
  assert.ok(hosts.length >= 1, 'no <dermlens-overlay> in the page');
  for (const host of hosts) assert.equal(host.shadowRoot, null);
  // DevTools can see through closed roots: check there really is a rendered card inside.
  const cdp = await page.createCDPSession();
  const { root } = (await cdp.send('DOM.getDocument', { depth: -1, pierce: true })) as unknown as { root: DomNode };
  const overlays = findNodes(root, 'DERMLENS-OVERLAY');
  assert.ok(overlays.length >= 1);
  for (const overlay of overlays) {
    const shadow = overlay.shadowRoots?.[0];
    assert.equal(shadow?.shadowRootType, 'closed');
    const cards = findNodes(shadow!, 'DERMLENS-CARD');
    assert.equal(cards.length, 1, 'closed shadow root holds no <dermlens-card>');
    // What the user reads: the top class's name and the not-a-diagnosis disclaimer.
    const { object } = await cdp.send('DOM.resolveNode', { backendNodeId: (cards[0] as unknown as { backendNodeId: number }).backendNodeId });
    const { result } = await cdp.send('Runtime.callFunctionOn', {
      objectId: object.objectId!,
      functionDeclaration: 'function () { return this.textContent; }',
      returnByValue: true,
    });
    const text = String(result.value).replace(/\s+/g, ' ');
    const top = hosts[hosts.length - 1]!;
    assert.equal(top.state, 'result');
    const topCode = await page.evaluate(() => [...document.querySelectorAll('dermlens-overlay')].pop()?.getAttribute('data-top'));
    const topName = CLASSES.find((c) => c.code === topCode)?.name;
    assert.ok(topName && text.includes(topName), `card text does not name the top class ${topCode}: ${text.slice(0, 300)}`);
    assert.match(text, /not a diagnosis/i);
  }
  await cdp.detach();
});

test('same-origin JPEG gives a result', async () => {
  assertResult(await classifyAndWait(server.urls.lesionJpeg));
});

/** True when a page script cannot read the cross-origin image's pixels (tainted canvas). */
async function isTaintedForPage(p: Page, src: string): Promise<boolean> {
  return p.evaluate(async (url: string) => {
    const img = document.querySelector<HTMLImageElement>('#cross-origin')!;
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const ctx = canvas.getContext('2d')!;
    ctx.drawImage(img, 0, 0);
    try {
      ctx.getImageData(0, 0, 1, 1);
      return false;
    } catch {
      return img.src === url;
    }
  }, src);
}

test('cross-origin image without CORS headers, host not granted: clear error naming the host', async () => {
  assert.equal(await isTaintedForPage(page, server.urls.crossOriginJpeg), true, 'the fixture should be unreadable to the page');
  const entry = await classifyAndWait(server.urls.crossOriginJpeg);
  assertReadableError(entry, new RegExp(new URL(server.otherOrigin).hostname));
  assertResult(await classifyAndWait(server.urls.lesionPng));
});

test('cross-origin image without CORS headers, host granted: result', async () => {
  const s = await grantedSession();
  const p = await s.openPage(server.urls.page);
  const tab = await s.grantActiveTab(p);
  assert.equal(await isTaintedForPage(p, server.urls.crossOriginJpeg), true);
  const before = (await stateLog(p)).length;
  await s.classifyUrl(server.urls.crossOriginJpeg, tab);
  assertResult(await waitForFinalState(p, before));
  await p.close();
});

test('data: URL image gives a result', async () => {
  assertResult(await classifyAndWait(server.urls.dataUrl));
});

test('the same image gives the same probabilities twice (deterministic pipeline)', async () => {
  const first = assertResult(await classifyAndWait(server.urls.lesionPng));
  const second = assertResult(await classifyAndWait(server.urls.lesionPng));
  assert.deepEqual(second, first);
});

async function openFramed(s: ExtensionSession, pageUrl: string, frameUrl: string) {
  const framed = await s.openPage(pageUrl);
  const tab = await s.grantActiveTab(framed);
  const frame = framed.frames().find((f) => f.url() === frameUrl);
  assert.ok(frame, `frame ${frameUrl} not found in ${framed.frames().map((f) => f.url())}`);
  await frame.waitForFunction(() => document.querySelector<HTMLImageElement>('#frame-image')?.complete);
  const frameId = await s.frameIdOf(tab, frameUrl);
  assert.notEqual(frameId, 0);
  return { framed, tab, frame, frameId };
}

test('an image inside a same-origin iframe: the card appears in that frame', async () => {
  const { framed, tab, frame, frameId } = await openFramed(session, server.urls.sameOriginIframePage, `${server.origin}/frame.html`);
  const before = (await stateLog(frame)).length;
  await session.classifyUrl(server.urls.sameOriginFrameImage, tab, frameId);
  assertResult(await waitForFinalState(frame, before));
  await framed.close();
});

test('an image inside a cross-site iframe, site not granted: a card with a result or a clear error', async () => {
  frameLookup = await launchWithExtension({ testPermissions: ['webNavigation'] });
  const { framed, tab, frame, frameId } = await openFramed(frameLookup, server.urls.iframePage, `${server.otherOrigin}/frame.html`);
  const afterTop = (await stateLog(framed)).length;
  const afterFrame = (await stateLog(frame)).length;
  await frameLookup.classifyUrl(server.urls.frameImage, tab, frameId);
  const { entry } = await firstFinalState([{ frame: framed, after: afterTop }, { frame, after: afterFrame }]);
  if (entry.state === 'result') assertResult(entry);
  else assertReadableError(entry, /frame|access|allow/i);
  await framed.close();
});

test('an image inside a cross-site iframe, site granted: the card appears in that frame', async () => {
  const s = await grantedSession();
  const { framed, tab, frame, frameId } = await openFramed(s, server.urls.iframePage, `${server.otherOrigin}/frame.html`);
  const before = (await stateLog(frame)).length;
  await s.classifyUrl(server.urls.frameImage, tab, frameId);
  assertResult(await waitForFinalState(frame, before));
  await framed.close();
});
