// The right-click flow: the context-menu handler (self.dermlens.classifyUrl, called in the service
// worker because CDP cannot click context-menu items) classifies an image of the page and the result
// card appears over it. The click's activeTab grant is reproduced with grantActiveTab(); an image on
// another host (a CDN) also needs that host granted, which the user does once in a prompt that
// headless Chromium cannot answer, so a second browser starts with it granted (grantedHosts).
import { after, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { Frame, Page } from 'puppeteer-core';
import {
  classifyAndWait,
  launchWithExtension,
  stateLog,
  useExtensionPage,
  waitForFinalState,
  type ExtensionSession,
  type StateEntry,
} from './harness.ts';
import { assertReadableError, assertResult } from './assertions.ts';
import { CLASSES } from '../../core/labels.ts';

const e2e = useExtensionPage((urls) => urls.page);
/** A second browser in which the user has allowed DermLens to read images from the CDN host and from the page's host (every port). */
let granted: ExtensionSession | undefined;
/** A third one that can look up frame ids of frames it may not script (test-only webNavigation). */
let frameLookup: ExtensionSession | undefined;

after(async () => {
  await granted?.close();
  await frameLookup?.close();
});

async function grantedSession(): Promise<ExtensionSession> {
  const hosts = [e2e.server.otherOrigin, e2e.server.otherPortOrigin].map((origin) => `http://${new URL(origin).hostname}/*`);
  granted ??= await launchWithExtension({ grantedHosts: hosts });
  return granted;
}

/** Waits until any of `frames` reaches a final state after the given log lengths. */
async function firstFinalState(
  frames: { frame: Page | Frame; after: number }[],
  timeout = 30_000,
): Promise<{ frame: Page | Frame; entry: StateEntry }> {
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

test('same-origin PNG: the card shows 7 probabilities summing to 1', async () => {
  assertResult(await e2e.classify(e2e.server.urls.lesionPng));
});

test('the card lives in a closed shadow root that page scripts cannot open, and shows the result', async () => {
  const { page } = e2e;
  const hosts = await page.evaluate(() =>
    [...document.querySelectorAll('dermlens-overlay')].map((el) => ({
      shadowRoot: el.shadowRoot === null ? null : 'open',
      state: el.getAttribute('data-state'),
    })),
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
    const cards = findNodes(shadow!, 'DERMLENS-PAGE-CARD');
    assert.equal(cards.length, 1, 'closed shadow root holds no <dermlens-page-card>');
    // What the user reads: the top class's name and the not-a-diagnosis disclaimer.
    const { object } = await cdp.send('DOM.resolveNode', {
      backendNodeId: (cards[0] as unknown as { backendNodeId: number }).backendNodeId,
    });
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
  assertResult(await e2e.classify(e2e.server.urls.lesionJpeg));
});

/** True when a page script cannot read the cross-origin image's pixels (tainted canvas). */
async function isTaintedForPage(p: Page, src: string, selector = '#cross-origin'): Promise<boolean> {
  return p.evaluate(
    async (url: string, imageSelector: string) => {
      const img = document.querySelector<HTMLImageElement>(imageSelector)!;
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
    },
    src,
    selector,
  );
}

test('cross-origin image without CORS headers, host not granted: clear error naming the host', async () => {
  const { page, server } = e2e;
  assert.equal(await isTaintedForPage(page, server.urls.crossOriginJpeg), true, 'the fixture should be unreadable to the page');
  const entry = await e2e.classify(server.urls.crossOriginJpeg);
  assertReadableError(entry, new RegExp(new URL(server.otherOrigin).hostname));
  assertResult(await e2e.classify(server.urls.lesionPng));
});

test('cross-origin image without CORS headers, host granted: result', async () => {
  const { server } = e2e;
  const s = await grantedSession();
  const p = await s.openPage(server.urls.page);
  const tab = await s.grantActiveTab(p);
  assert.equal(await isTaintedForPage(p, server.urls.crossOriginJpeg), true);
  assertResult(await classifyAndWait(s, p, server.urls.crossOriginJpeg, tab));
  await p.close();
});

// The page's host on another port is another origin: activeTab does not cover it, so the click must
// ask Chrome for that host (a host pattern covers every port), and the card must not promise a prompt
// that never comes.

/** Opens the page showing the other-port image, with activeTab granted, in session `s`; closed after test `t`. */
async function openOtherPortPage(t: TestContext, s: ExtensionSession) {
  const p = await s.openPage(e2e.server.urls.otherPortPage);
  t.after(() => p.close()); // even when the test fails: a second tab with this URL would confuse tabIdOf
  return { p, tab: await s.grantActiveTab(p) };
}

/** Runs the whole context-menu click handler (host request included) in the worker and waits for the card. */
async function menuClickAndWait(s: ExtensionSession, p: Page, tab: number, srcUrl: string): Promise<StateEntry> {
  const worker = await s.serviceWorker();
  const before = (await stateLog(p)).length;
  await worker.evaluate(
    (info: { srcUrl: string; pageUrl: string }, t: number) =>
      (self as unknown as { dermlens: { menuClick(i: unknown, t: number): Promise<void> } }).dermlens.menuClick(info, t),
    { srcUrl, pageUrl: p.url() },
    tab,
  );
  return waitForFinalState(p, before);
}

test("image on the page's host but another port, no user gesture: the click asks Chrome, which refuses to prompt, and the card says so", async (t) => {
  const { server, session } = e2e;
  const { p, tab } = await openOtherPortPage(t, session);
  assert.equal(await isTaintedForPage(p, server.urls.otherPortJpeg, '#other-port'), true, 'the fixture should be unreadable to the page');
  // A real click carries a user gesture; evaluate in the worker does not, so Chrome rejects the request
  // ("must be called during a user gesture"): the proof that the click asked at all.
  const message = assertReadableError(await menuClickAndWait(session, p, tab, server.urls.otherPortJpeg), /Chrome did not ask you/);
  assert.match(message, /read images from 127\.0\.0\.1 \(.*user gesture/);
});

test("image on the page's host but another port, user declines the prompt: the host was asked for, and the card says it was declined", async (t) => {
  const { server, session } = e2e;
  const { p, tab } = await openOtherPortPage(t, session);
  const worker = await session.serviceWorker();
  // Headless Chromium cannot answer the prompt: stand in for the user, who says no, and record what was asked.
  await worker.evaluate(() => {
    const asked: unknown[] = [];
    (self as unknown as { __asked: unknown[] }).__asked = asked;
    const answer = (permissions: chrome.permissions.Permissions) => {
      asked.push(permissions.origins);
      return Promise.resolve(false);
    };
    for (const api of [chrome, (self as unknown as { browser?: typeof chrome }).browser]) {
      if (api?.permissions) Object.defineProperty(api.permissions, 'request', { value: answer, configurable: true, writable: true });
    }
  });
  const entry = await menuClickAndWait(session, p, tab, server.urls.otherPortJpeg);
  const asked = await worker.evaluate(() => (self as unknown as { __asked: unknown[] }).__asked);
  assert.deepEqual(asked, [['http://127.0.0.1/*']], "the click asks for the image's host (a pattern covers every port)");
  const message = assertReadableError(entry, /You did not allow DermLens/);
  assert.match(message, new RegExp(`127\\.0\\.0\\.1:${new URL(server.otherPortOrigin).port} does not let other pages read them`));
});

test("image on the page's host but another port, nothing asked in this request: the card names both ports and promises the prompt a click brings", async (t) => {
  const { server, session } = e2e;
  const { p, tab } = await openOtherPortPage(t, session);
  const message = assertReadableError(await classifyAndWait(session, p, server.urls.otherPortJpeg, tab), /no access/);
  const port = (origin: string) => new URL(origin).port;
  assert.match(message, new RegExp(`no access to 127\\.0\\.0\\.1:${port(server.otherPortOrigin)}\\b`));
  assert.match(message, new RegExp(`page is on 127\\.0\\.0\\.1:${port(server.origin)}\\b`));
  assert.match(message, /Chrome then asks once whether DermLens may read images from 127\.0\.0\.1;/);
});

test("image on the page's host but another port, host granted: result", async (t) => {
  const s = await grantedSession();
  const { p, tab } = await openOtherPortPage(t, s);
  assertResult(await classifyAndWait(s, p, e2e.server.urls.otherPortJpeg, tab));
});

test('data: URL image gives a result', async () => {
  assertResult(await e2e.classify(e2e.server.urls.dataUrl));
});

test('the same image gives the same probabilities twice (deterministic pipeline)', async () => {
  const first = assertResult(await e2e.classify(e2e.server.urls.lesionPng));
  const second = assertResult(await e2e.classify(e2e.server.urls.lesionPng));
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
  const { server, session } = e2e;
  const { framed, tab, frame, frameId } = await openFramed(session, server.urls.sameOriginIframePage, `${server.origin}/frame.html`);
  assertResult(await classifyAndWait(session, frame, server.urls.sameOriginFrameImage, tab, { frameId }));
  await framed.close();
});

test('an image inside a cross-site iframe, site not granted: a card with a result or a clear error', async () => {
  const { server } = e2e;
  frameLookup = await launchWithExtension({ testPermissions: ['webNavigation'] });
  const { framed, tab, frame, frameId } = await openFramed(frameLookup, server.urls.iframePage, `${server.otherOrigin}/frame.html`);
  const afterTop = (await stateLog(framed)).length;
  const afterFrame = (await stateLog(frame)).length;
  await frameLookup.classifyUrl(server.urls.frameImage, tab, frameId);
  const { entry } = await firstFinalState([
    { frame: framed, after: afterTop },
    { frame, after: afterFrame },
  ]);
  if (entry.state === 'result') assertResult(entry);
  else assertReadableError(entry, /frame|access|allow/i);
  await framed.close();
});

test('an image inside a cross-site iframe, site granted: the card appears in that frame', async () => {
  const { server } = e2e;
  const s = await grantedSession();
  const { framed, tab, frame, frameId } = await openFramed(s, server.urls.iframePage, `${server.otherOrigin}/frame.html`);
  assertResult(await classifyAndWait(s, frame, server.urls.frameImage, tab, { frameId }));
  await framed.close();
});
