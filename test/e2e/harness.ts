// Launches Debian's Chromium (never a downloaded browser) headless with the built extension loaded,
// and gives the tests handles on its service worker, popup page and result overlay.
import puppeteer, { type Browser, type CDPSession, type ElementHandle, type Frame, type Page, type Target } from 'puppeteer-core';
import { after, before } from 'node:test';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt } from './build.ts';
import { startFixtureServer, type FixtureServer, type FixtureUrls } from './fixture-server.ts';
import { attachToWorker, ServiceWorkerMonitor, type WorkerHandle, type WorkerStatus } from './service-worker.ts';

export type { WorkerHandle, WorkerStatus } from './service-worker.ts';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_FLAGS = [
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  '--disable-quic',
  '--disable-dev-shm-usage',
  // Camera permission prompts are accepted automatically; the real permission page is the
  // extension's job and is tested separately.
  '--use-fake-ui-for-media-stream',
];

export interface LaunchOptions {
  /** Absolute path of a .y4m/.mjpeg file fed to getUserMedia as the camera. */
  fakeVideo?: string;
  /** Extra Chromium flags. */
  args?: string[];
  /**
   * Host permissions the user has already granted (e.g. ['http://localhost/*']). Chromium has no
   * switch to accept the chrome.permissions.request prompt in headless mode, so the test loads a
   * copy of the build whose manifest lists them as granted host_permissions: the state the
   * extension is in after the user clicked "Allow" once.
   */
  grantedHosts?: string[];
  /**
   * API permissions the test itself needs, added to a copy's manifest. Only 'webNavigation', for
   * frameIdOf() on a cross-site frame the extension may not script (a real right-click hands the
   * extension that frameId in the click info).
   */
  testPermissions?: 'webNavigation'[];
}

/**
 * A private copy of the build for one browser, with host and API permissions added to its
 * manifest when asked. Loading a copy keeps a test run stable while the build is rebuilt under it
 * (a build empties its folder first).
 */
function snapshotOfBuild(dist: string, hosts: string[], permissions: string[]): string {
  const copy = mkdtempSync(join(tmpdir(), 'dermlens-e2e-ext-'));
  cpSync(dist, copy, { recursive: true });
  const manifestPath = join(copy, 'manifest.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { host_permissions?: string[]; permissions?: string[] };
  if (hosts.length) manifest.host_permissions = [...new Set([...(manifest.host_permissions ?? []), ...hosts])];
  if (permissions.length) manifest.permissions = [...new Set([...(manifest.permissions ?? []), ...permissions])];
  writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
  return copy;
}

/** Tag names whose data-* attributes mirror what the user sees (see the extension contract). */
const MIRRORED_ELEMENTS = ['dermlens-overlay', 'dermlens-popup'];
const MIRRORED_ATTRIBUTES = ['data-state', 'data-top', 'data-probabilities', 'data-error'];

export interface StateEntry {
  tag: string;
  /** Index of the element among all mirrored elements seen in this document. */
  element: number;
  state: string | null;
  top: string | null;
  probabilities: string | null;
  error: string | null;
  /** Date.now() in the page when the change was observed (same clock as the service worker). */
  at: number;
}

/**
 * Runs in every document before its own scripts: logs each change of a mirrored element's state
 * attributes into window.__dermlensStates, so a test can wait for the NEXT result even when the
 * extension reuses one overlay element, and a benchmark can read when the card was shown.
 */
function stateRecorder(tags: string[], attributes: string[]): void {
  const w = window as unknown as { __dermlensStates?: unknown[] };
  if (w.__dermlensStates) return;
  const log: unknown[] = [];
  w.__dermlensStates = log;
  const ids = new WeakMap<Element, number>();
  let elements = 0;
  const last = new WeakMap<Element, string>();
  const record = (el: Element) => {
    if (!tags.includes(el.localName)) return;
    if (!ids.has(el)) ids.set(el, elements++);
    const snapshot = {
      tag: el.localName,
      element: ids.get(el)!,
      state: el.getAttribute('data-state'),
      top: el.getAttribute('data-top'),
      probabilities: el.getAttribute('data-probabilities'),
      error: el.getAttribute('data-error'),
    };
    const key = JSON.stringify(snapshot);
    if (last.get(el) === key) return;
    last.set(el, key);
    log.push({ ...snapshot, at: Date.now() });
  };
  const scan = (node: Node) => {
    if (node.nodeType !== 1) return;
    record(node as Element);
    for (const tag of tags) (node as Element).querySelectorAll(tag).forEach(record);
  };
  new MutationObserver((mutations) => {
    for (const m of mutations) {
      if (m.type === 'attributes') record(m.target as Element);
      else m.addedNodes.forEach(scan);
    }
  }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: attributes });
}

/**
 * The recorder as source text, with a __name shim: tsx (esbuild keepNames) wraps named inner functions
 * in __name(...) calls, which do not exist in the page and would silently kill the recorder.
 */
export const STATE_RECORDER_SOURCE = `(() => { const __name = (f) => f; (${stateRecorder.toString()})(${JSON.stringify(MIRRORED_ELEMENTS)}, ${JSON.stringify(MIRRORED_ATTRIBUTES)}); })();`;

export async function installStateRecorder(page: Page): Promise<void> {
  await page.evaluateOnNewDocument(STATE_RECORDER_SOURCE);
}

export async function stateLog(frame: Page | Frame): Promise<StateEntry[]> {
  return frame.evaluate(() => ((window as unknown as { __dermlensStates?: StateEntry[] }).__dermlensStates ?? []).slice());
}

/**
 * Waits for the first entry after `afterIndex` whose state is final (result or error) and returns
 * it. Use `(await stateLog(frame)).length` before triggering the action as `afterIndex`.
 */
export async function waitForFinalState(
  frame: Page | Frame,
  afterIndex: number,
  { tag = 'dermlens-overlay', timeout = 30_000 }: { tag?: string; timeout?: number } = {},
): Promise<StateEntry> {
  const handle = await frame.waitForFunction(
    (after: number, wanted: string) => {
      const log = (window as unknown as { __dermlensStates?: StateEntry[] }).__dermlensStates ?? [];
      return log.slice(after).find((e) => e.tag === wanted && (e.state === 'result' || e.state === 'error')) ?? false;
    },
    { timeout, polling: 'mutation' },
    afterIndex,
    tag,
  );
  return (await handle.jsonValue()) as StateEntry;
}

/**
 * page.waitForSelector for selectors that pierce shadow roots (`>>>`): puppeteer waits for them
 * with a MutationObserver on the document, which never sees changes inside shadow roots, so an
 * element rendered later by a Lit component is missed. This polls instead.
 */
export async function waitForDeepSelector(page: Page, selector: string, timeout = 10_000): Promise<ElementHandle<Element>> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const element = await page.$(selector);
    if (element) return element;
    if (Date.now() > deadline) throw new Error(`no element matches ${selector} after ${timeout} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface ExtensionSession {
  browser: Browser;
  extensionId: string;
  userDataDir: string;
  /**
   * A handle on the extension's service worker as it runs now, started again (by a message) if Chrome
   * has stopped it. Get it again after anything may have stopped the worker: a handle on a stopped
   * worker fails.
   */
  serviceWorker(): Promise<WorkerHandle>;
  /**
   * Stops the service worker as Chrome does (ServiceWorker.stopWorker) and resolves once DevTools
   * reports it stopped, with that report: its `at` is Date.now() when the stop was confirmed.
   */
  stopServiceWorker(): Promise<WorkerStatus>;
  /** The running state of the extension's worker as DevTools reports it (a log of every start and stop). */
  workerMonitor(): Promise<ServiceWorkerMonitor>;
  /** A new tab with the state recorder installed, navigated to `url`. */
  openPage(url: string): Promise<Page>;
  /**
   * What the user's right-click on the page grants the extension: activeTab for that tab. Done by
   * clicking the extension's toolbar action (CDP Extensions.triggerAction) with the popup
   * switched off for that one click, so no popup opens (it would warm up the model early).
   * Returns the tab's chrome.tabs id.
   */
  grantActiveTab(page: Page): Promise<number>;
  /** The chrome.tabs id of a page opened by the test (its URL must be visible to the extension). */
  tabIdOf(page: Page): Promise<number>;
  /** The extension frameId of the frame whose URL is `frameUrl` in tab `tabId`. */
  frameIdOf(tabId: number, frameUrl: string): Promise<number>;
  /** Calls the context-menu handler, exactly as a right-click on the image would. */
  classifyUrl(srcUrl: string, tabId: number, frameId?: number): Promise<void>;
  /** Starts classifyUrl without waiting for it; returns Date.now() in the worker when it started. */
  startClassifyUrl(srcUrl: string, tabId: number, frameId?: number): Promise<number>;
  /** chrome-extension://<id>/popup.html opened in a tab. */
  openPopup(): Promise<Page>;
  /** Whether the offscreen document currently exists. */
  hasOffscreenDocument(): boolean;
  close(): Promise<void>;
}

/** How long grantActiveTab waits for the grant to reach the page. */
const GRANT_TIMEOUT_MS = 10_000;

/**
 * Waits until chrome.scripting can inject into tab `tabId`'s top frame. Extensions.triggerAction returns
 * once the browser has granted activeTab (chrome.tabs shows the tab's URL at once), but the page's
 * renderer checks injections against its own copy of the extension's tab permissions, which arrives
 * separately: seen on a busy machine, an executeScript right after the grant failed with "Cannot access
 * contents of the page". A real right-click grants before the click event even reaches the worker.
 */
async function waitUntilScriptable(worker: WorkerHandle, tabId: number): Promise<void> {
  const deadline = Date.now() + GRANT_TIMEOUT_MS;
  let tries = 0;
  for (;;) {
    tries++;
    const error = await worker.evaluate(
      (id: number) =>
        chrome.scripting.executeScript({ target: { tabId: id }, func: () => true }).then(
          () => null,
          (e: Error) => String(e?.message ?? e),
        ),
      tabId,
    );
    if (error === null) {
      if (tries > 1 && process.env.DERMLENS_E2E_VERBOSE) console.error(`# activeTab usable in tab ${tabId} after ${tries} tries`);
      return;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `activeTab was granted to tab ${tabId}, but ${GRANT_TIMEOUT_MS / 1000} s later chrome.scripting still cannot inject into it: ${error}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** How long serviceWorker() may take to (re)start the worker and attach to it. */
const WORKER_TIMEOUT_MS = 15_000;
/** How long a fresh handle may take to answer its first evaluation. */
const HOOK_TIMEOUT_MS = 10_000;

/** Runs in the worker: waits for the test hook, which the module assigns at top level. */
async function waitForTestHook(): Promise<void> {
  for (let i = 0; i < 100 && !(self as unknown as { dermlens?: unknown }).dermlens; i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!(self as unknown as { dermlens?: unknown }).dermlens) throw new Error('self.dermlens test hook missing in the service worker');
}

/** Rejects with "<message> within <ms> ms" if the promise has not settled by then. */
export function withDeadline<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${message} within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

const isExtensionWorker = (id: string | undefined) => (t: Target) =>
  t.type() === 'service_worker' && t.url().startsWith(`chrome-extension://${id ?? ''}`);

export async function launchWithExtension(options: LaunchOptions = {}): Promise<ExtensionSession> {
  const built = ensureBuilt();
  const hosts = options.grantedHosts ?? [];
  const permissions = options.testPermissions ?? [];
  const dist = snapshotOfBuild(built, hosts, permissions);
  const cleanup = () => {
    rmSync(userDataDir, { recursive: true, force: true });
    rmSync(dist, { recursive: true, force: true });
  };
  const userDataDir = mkdtempSync(join(tmpdir(), 'dermlens-e2e-profile-'));
  const args = [...CHROMIUM_FLAGS, ...(options.args ?? [])];
  if (process.getuid?.() === 0) args.push('--no-sandbox');
  if (options.fakeVideo) {
    args.push('--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${options.fakeVideo}`);
  }
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true, // puppeteer 24: the new headless mode, which can load extensions
    pipe: true,
    enableExtensions: [dist],
    userDataDir,
    args,
    protocolTimeout: 180_000, // above the longest wait (recovery after a killed worker)
  });
  try {
    const firstWorker = await browser.waitForTarget(isExtensionWorker(undefined), { timeout: 20_000 });
    const extensionId = new URL(firstWorker.url()).host;
    // Its blank tab opens now, before the test's pages: a tab opened later would take the foreground,
    // and the toolbar-action click of grantActiveTab goes to the foreground tab.
    const monitor = await ServiceWorkerMonitor.start(browser, extensionId);
    return makeSession(browser, extensionId, userDataDir, cleanup, monitor);
  } catch (error) {
    await browser.close();
    cleanup();
    throw error;
  }
}

function makeSession(
  browser: Browser,
  extensionId: string,
  userDataDir: string,
  cleanup: () => void,
  monitor: ServiceWorkerMonitor,
): ExtensionSession {
  const base = `chrome-extension://${extensionId}`;
  let wakePage: Page | undefined;

  const workerMonitor = async () => monitor;
  /** The current evaluate handle, valid while no stop has been seen since it was made. */
  let current: { handle: WorkerHandle; session: CDPSession; stops: number } | undefined;

  async function dropHandle(): Promise<void> {
    const held = current;
    current = undefined;
    await held?.session.detach().catch(() => undefined);
  }

  /**
   * A stopped MV3 worker starts again on its next event: send it a runtime message from an extension
   * page (the reply, if any, does not matter). The popup page is the extension page with the fewest side
   * effects that has chrome.runtime.
   */
  async function wake(): Promise<void> {
    wakePage ??= await browser.newPage();
    if (!wakePage.url().startsWith(base)) await wakePage.goto(`${base}/popup.html`);
    await wakePage
      .evaluate(() => {
        const c = (globalThis as unknown as { chrome?: typeof chrome }).chrome;
        return c?.runtime?.sendMessage({ target: 'background', type: 'e2e-wake', requestId: 'e2e-wake' }).catch(() => undefined);
      })
      .catch(() => undefined);
  }

  /** One handle at a time: concurrent callers share the attach in progress. */
  let attaching: Promise<WorkerHandle> | undefined;

  async function serviceWorker(): Promise<WorkerHandle> {
    const monitor = await workerMonitor();
    if (current && !current.session.detached && current.stops === monitor.stops()) return current.handle;
    attaching ??= attachToRunningWorker(monitor).finally(() => {
      attaching = undefined;
    });
    return attaching;
  }

  async function attachToRunningWorker(monitor: ServiceWorkerMonitor): Promise<WorkerHandle> {
    await dropHandle();
    const deadline = Date.now() + WORKER_TIMEOUT_MS;
    let lastError: unknown;
    while (Date.now() < deadline) {
      const status = monitor.active()?.runningStatus;
      if (status !== 'running' && status !== 'starting') await wake();
      const stops = monitor.stops();
      try {
        // Attach only to a worker DevTools reports running: never to one being started (puppeteer resumes
        // a starting worker from its own auto-attach, which a concurrent attach can keep from happening).
        await monitor.waitUntilRunning(Math.max(1, deadline - Date.now()));
        const target =
          browser.targets().find(isExtensionWorker(extensionId)) ??
          (await browser.waitForTarget(isExtensionWorker(extensionId), { timeout: Math.max(1, deadline - Date.now()) }));
        const attached = await attachToWorker(target);
        try {
          await withDeadline(attached.handle.evaluate(waitForTestHook), HOOK_TIMEOUT_MS, 'the test hook did not answer');
        } catch (error) {
          await attached.session.detach().catch(() => undefined);
          throw error;
        }
        if (monitor.stops() !== stops) {
          // stopped while we attached: that handle is stale already
          await attached.session.detach().catch(() => undefined);
          continue;
        }
        current = { ...attached, stops };
        return attached.handle;
      } catch (error) {
        lastError = error; // e.g. the target listed was the stopped worker's: look again
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    throw new Error(
      `no usable service worker after ${WORKER_TIMEOUT_MS / 1000} s (statuses: ${(await workerMonitor()).describe()}): ${String(lastError)}`,
    );
  }

  return {
    browser,
    extensionId,
    userDataDir,
    serviceWorker,
    workerMonitor,
    async stopServiceWorker() {
      const monitor = await workerMonitor();
      await dropHandle(); // an attached session would keep the stopped worker's DevTools target alive
      return monitor.stop();
    },
    async openPage(url) {
      const page = await browser.newPage();
      await installStateRecorder(page);
      await page.goto(url, { waitUntil: 'load' });
      return page;
    },
    async grantActiveTab(page) {
      const worker = await serviceWorker();
      const extension = (await browser.extensions()).get(extensionId);
      if (!extension) throw new Error(`extension ${extensionId} not found`);
      await worker.evaluate(() => chrome.action.setPopup({ popup: '' }));
      try {
        await page.triggerExtensionAction(extension);
      } finally {
        await worker.evaluate(() => chrome.action.setPopup({ popup: chrome.runtime.getManifest().action?.default_popup ?? '' }));
      }
      const tabId = await this.tabIdOf(page);
      await waitUntilScriptable(worker, tabId);
      return tabId;
    },
    async tabIdOf(page) {
      const worker = await serviceWorker();
      const url = page.url();
      const ids = await worker.evaluate(
        async (u: string) => (await chrome.tabs.query({})).filter((t) => t.url === u).map((t) => t.id),
        url,
      );
      if (ids.length !== 1) throw new Error(`expected one tab with URL ${url}, found ${ids.length} (grant activeTab or host access first)`);
      return ids[0]!;
    },
    async frameIdOf(tabId, frameUrl) {
      const worker = await serviceWorker();
      // Frames the extension may script report their own URL. A cross-site frame it may not script
      // is found with webNavigation (only in sessions launched with testPermissions: ['webNavigation']).
      const lookUp = () =>
        worker.evaluate(
          async (id: number, url: string) => {
            if (chrome.webNavigation) {
              const frames = (await chrome.webNavigation.getAllFrames({ tabId: id })) ?? [];
              return { frameId: frames.find((f) => f.url === url)?.frameId ?? -1, seen: frames.map((f) => f.url) };
            }
            const own = await chrome.scripting.executeScript({ target: { tabId: id, allFrames: true }, func: () => location.href });
            return { frameId: own.find((r) => r.result === url)?.frameId ?? -1, seen: own.map((r) => String(r.result)) };
          },
          tabId,
          frameUrl,
        );
      // Seen once in a full run: the frame missing from the answer although puppeteer saw it loaded.
      // Retry briefly, and name the frames that were seen if it stays missing.
      let found = await lookUp();
      for (let i = 0; found.frameId < 0 && i < 20; i++) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        found = await lookUp();
      }
      const { frameId } = found;
      if (frameId < 0) throw new Error(`no frame ${frameUrl} in tab ${tabId}; frames seen: ${found.seen.join(', ')}`);
      return frameId;
    },
    async classifyUrl(srcUrl, tabId, frameId) {
      const worker = await serviceWorker();
      await worker.evaluate(
        (src: string, tab: number, frame: number | null) =>
          (self as unknown as { dermlens: { classifyUrl(s: string, t: number, f?: number): Promise<void> } }).dermlens.classifyUrl(
            src,
            tab,
            frame ?? undefined,
          ),
        srcUrl,
        tabId,
        frameId ?? null,
      );
    },
    async startClassifyUrl(srcUrl, tabId, frameId) {
      const worker = await serviceWorker();
      return worker.evaluate(
        (src: string, tab: number, frame: number | null) => {
          const startedAt = Date.now();
          void (self as unknown as { dermlens: { classifyUrl(s: string, t: number, f?: number): Promise<void> } }).dermlens
            .classifyUrl(src, tab, frame ?? undefined)
            .catch((e: unknown) => console.error('classifyUrl failed', e));
          return startedAt;
        },
        srcUrl,
        tabId,
        frameId ?? null,
      );
    },
    async openPopup() {
      const page = await browser.newPage();
      await installStateRecorder(page);
      await page.goto(`${base}/popup.html`, { waitUntil: 'load' });
      return page;
    },
    hasOffscreenDocument() {
      return browser.targets().some((t) => t.url() === `${base}/offscreen.html`);
    },
    async close() {
      await dropHandle();
      await browser.close().catch(() => undefined);
      cleanup();
    },
  };
}

/**
 * Right-clicks `srcUrl` (the context-menu hook) in tab `tabId` and waits for the next final state
 * (result or error) of the card in `frame`: the page, or the iframe the image is in (give its
 * `frameId` then).
 */
export async function classifyAndWait(
  session: ExtensionSession,
  frame: Page | Frame,
  srcUrl: string,
  tabId: number,
  { frameId, timeout }: { frameId?: number; timeout?: number } = {},
): Promise<StateEntry> {
  const afterIndex = (await stateLog(frame)).length;
  await session.classifyUrl(srcUrl, tabId, frameId);
  return waitForFinalState(frame, afterIndex, { timeout });
}

/** The fixture server and one browser with the extension, for the tests of one file. */
export interface ExtensionFixture {
  server: FixtureServer;
  session: ExtensionSession;
}

/** A page of the fixture server opened in that browser, with activeTab granted (as after a right-click). */
export interface PageFixture extends ExtensionFixture {
  page: Page;
  tabId: number;
  /** classifyAndWait in this page and tab. */
  classify(srcUrl: string, timeout?: number): Promise<StateEntry>;
}

/**
 * Registers node:test before/after hooks that start the fixture server and a browser with the
 * extension, then run `more` (the file's own setup, e.g. opening the popup), and close both after
 * the file's tests. The returned object's fields are set once `before` has run (read them inside
 * tests, not at module level). Put the file's setup in `more`, not in a second top-level `before`:
 * node:test does not wait for one top-level hook before starting the next.
 */
export function useExtension(
  options: LaunchOptions | ((server: FixtureServer) => LaunchOptions) = {},
  more: (fixture: ExtensionFixture) => Promise<void> = async () => {},
): ExtensionFixture {
  return setUp<ExtensionFixture>(options, more);
}

/** useExtension, plus the page `pageOf(server.urls)` opened with activeTab granted. */
export function useExtensionPage(pageOf: (urls: FixtureUrls) => string, options: LaunchOptions = {}): PageFixture {
  return setUp<PageFixture>(options, async (fixture) => {
    fixture.page = await fixture.session.openPage(pageOf(fixture.server.urls));
    fixture.tabId = await fixture.session.grantActiveTab(fixture.page);
    fixture.classify = (srcUrl, timeout) => classifyAndWait(fixture.session, fixture.page, srcUrl, fixture.tabId, { timeout });
  });
}

/** One before hook (see useExtension) and one after hook. */
function setUp<F extends ExtensionFixture>(
  options: LaunchOptions | ((server: FixtureServer) => LaunchOptions),
  more: (fixture: F) => Promise<void>,
): F {
  const fixture = {} as F;
  before(async () => {
    fixture.server = await startFixtureServer();
    fixture.session = await launchWithExtension(typeof options === 'function' ? options(fixture.server) : options);
    await more(fixture);
  });
  after(async () => {
    await fixture.session?.close();
    await fixture.server?.close();
  });
  return fixture;
}
