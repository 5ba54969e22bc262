// Launches Debian's Firefox ESR (never a downloaded browser) headless through puppeteer-core over
// WebDriver BiDi, installs the Firefox test build (dist-test-firefox/) as a temporary add-on, and gives
// the tests what a person does: the real right-click menu, the add-on's pages, and the answers to
// Firefox's own prompts (host permission, camera), clicked in the browser window itself.
//
// How (measured facts in ../shared/notes/firefox.md): `--remote-allow-system-access` lets BiDi evaluate
// in the browser window (realm `moz:scope: chrome`), where the page's context menu and Firefox's prompts
// live; the add-on's uuid is fixed by a pref so its pages have a known address; the add-on's
// console reaches Firefox's stdout (pref devtools.console.stdout.content).
import puppeteer, { type Browser, type Frame, type Page } from 'puppeteer-core';
import { after, before } from 'node:test';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureBuilt } from '../e2e/build.ts';
import { startFixtureServer, type FixtureServer } from '../e2e/fixture-server.ts';
import { installStateRecorder, STATE_RECORDER_SOURCE, stateLog, waitForFinalState, type StateEntry } from '../e2e/harness.ts';

export const FIREFOX = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';

/** Why the Firefox tests cannot run here, or undefined when they can. */
export function firefoxMissing(): string | undefined {
  if (!existsSync(FIREFOX))
    return `${FIREFOX} not found: install it with scripts/setup.sh (apt-get install firefox-esr) or set FIREFOX_PATH`;
  return undefined;
}

/** The add-on's fixed uuid in these tests, so its pages live at moz-extension://<uuid>/. */
const UUID = '6b1f8a52-3c2e-4d7a-9e0b-d3a1e5c7f901';

export interface LaunchOptions {
  /** A fake camera (Firefox's generated test pattern) instead of none. */
  fakeCamera?: boolean;
  /** Extra Firefox prefs. */
  prefs?: Record<string, string | number | boolean>;
}

export interface FirefoxSession {
  browser: Browser;
  geckoId: string;
  /** moz-extension://<uuid> */
  base: string;
  /** Every line the add-on and Firefox wrote to stdout/stderr since launch (console.* of the add-on's pages). */
  output: string[];
  /** A new tab with the state recorder installed, on `url`. */
  openPage(url: string): Promise<Page>;
  /** A new tab on one of the add-on's pages (popup.html, permission.html), state recorder installed. */
  openExtensionPage(path: string): Promise<Page>;
  /**
   * The tab the add-on opened on one of its pages (e.g. permission.html from the popup). puppeteer's
   * target URLs do not follow navigations to moz-extension: addresses, so each tab is asked where it is.
   */
  waitForExtensionPage(path: string, timeout?: number): Promise<Page>;
  /** Resolves once the tab is gone (puppeteer's 'close' event does not fire for a tab a page closed itself). */
  waitForClosed(page: Page, timeout?: number): Promise<void>;
  /**
   * Right-clicks `selector` in `frame` (the page, or an iframe of it) and chooses "Classify skin lesion"
   * in Firefox's real context menu: the click grants activeTab and fires menus.onClicked, as a person's does.
   * Returns Date.now() in the browser when the item was chosen (the same clock as the page's).
   */
  chooseMenuItem(page: Page, selector: string, frame?: Frame): Promise<number>;
  /** chooseMenuItem, then the card's next final state in `frame` (result or error). */
  classifyByMenu(page: Page, selector: string, options?: { frame?: Frame; timeout?: number }): Promise<StateEntry>;
  /** Evaluates `expression` (JavaScript, may be a promise) in the browser window; returns its JSON value. */
  inBrowserWindow<T>(expression: string): Promise<T>;
  /** Waits for one of Firefox's doorhanger prompts (by notification id) and clicks Allow or its secondary button. */
  answerPrompt(notificationId: string, answer: 'allow' | 'deny', options?: { remember?: boolean; timeout?: number }): Promise<void>;
  /** Suspends the add-on's event page as Firefox does after 30 s idle (about:debugging's "Terminate background script"). */
  terminateBackground(): Promise<void>;
  close(): Promise<void>;
}

function geckoIdOf(dist: string): string {
  const manifest = JSON.parse(readFileSync(join(dist, 'manifest.json'), 'utf8')) as {
    browser_specific_settings?: { gecko?: { id?: string } };
  };
  const id = manifest.browser_specific_settings?.gecko?.id;
  if (!id) throw new Error(`${dist}/manifest.json has no browser_specific_settings.gecko.id: is this the Firefox build?`);
  return id;
}

/** What BiDi script.evaluate answers. */
interface EvaluateResult {
  type: 'success' | 'exception';
  result?: { type: string; value?: unknown };
  exceptionDetails?: { text?: string };
}

export async function launchFirefox(options: LaunchOptions = {}): Promise<FirefoxSession> {
  const dist = ensureBuilt('firefox');
  const geckoId = geckoIdOf(dist);
  const output: string[] = [];
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX,
    headless: true,
    args: ['--remote-allow-system-access'],
    protocolTimeout: 120_000,
    // Release builds honour services.settings.server (below) only with this set.
    env: { ...process.env, MOZ_REMOTE_SETTINGS_DEVTOOLS: '1' },
    extraPrefsFirefox: {
      'extensions.webextensions.uuids': JSON.stringify({ [geckoId]: UUID }),
      'devtools.console.stdout.content': true,
      // Firefox's own traffic off (puppeteer's prefs silence most of it): Remote Settings, which an add-on
      // install consults, points nowhere, so the network test's log holds the pages' and the add-on's only.
      'browser.shell.checkDefaultBrowser': false,
      'services.settings.server': 'data:,#remote-settings-dummy/v1',
      ...(options.fakeCamera ? { 'media.navigator.streams.fake': true } : {}),
      ...options.prefs,
    },
  });
  const keep = (chunk: Buffer) => output.push(...String(chunk).split('\n').filter(Boolean));
  browser.process()?.stdout?.on('data', keep);
  browser.process()?.stderr?.on('data', keep);
  try {
    await browser.installExtension(dist);
    return makeSession(browser, geckoId, output);
  } catch (error) {
    await browser.close();
    throw error;
  }
}

function makeSession(browser: Browser, geckoId: string, output: string[]): FirefoxSession {
  const base = `moz-extension://${UUID}`;
  // puppeteer's BiDi connection, for the commands it has no API for (chrome-scope realms, navigate without waiting).
  const bidi = (browser as unknown as { connection: { send(method: string, params: object): Promise<{ result: unknown }> } }).connection;
  let windowContext: string | undefined;

  async function browserWindow(): Promise<string> {
    if (windowContext) return windowContext;
    const tree = (await bidi.send('browsingContext.getTree', { 'moz:scope': 'chrome' })).result as {
      contexts: { context: string; url: string }[];
    };
    const main = tree.contexts.find((c) => c.url === 'chrome://browser/content/browser.xhtml');
    if (!main) throw new Error(`no browser window among ${tree.contexts.map((c) => c.url).join(', ')}`);
    windowContext = main.context;
    return windowContext;
  }

  async function inBrowserWindow<T>(expression: string): Promise<T> {
    const evaluated = (
      await bidi.send('script.evaluate', {
        expression: `(async () => JSON.stringify(await (${expression})))()`,
        target: { context: await browserWindow() },
        awaitPromise: true,
        resultOwnership: 'none',
      })
    ).result as EvaluateResult;
    if (evaluated.type === 'exception') throw new Error(`in the browser window: ${evaluated.exceptionDetails?.text ?? 'exception'}`);
    const value = evaluated.result?.value;
    return (typeof value === 'string' ? JSON.parse(value) : undefined) as T;
  }

  async function openPage(url: string): Promise<Page> {
    const page = await browser.newPage();
    await installStateRecorder(page);
    await page.goto(url, { waitUntil: 'load' });
    return page;
  }

  async function openExtensionPage(path: string): Promise<Page> {
    const page = await browser.newPage();
    await installStateRecorder(page);
    // page.goto to a moz-extension: URL loses track of the navigation (notes/firefox.md): navigate by
    // BiDi without waiting, then wait for the page's own scripts.
    await bidi.send('browsingContext.navigate', { context: contextOf(page), url: `${base}/${path}`, wait: 'none' });
    await page.waitForFunction(
      (expected: string) => location.href === expected && document.readyState === 'complete',
      { timeout: 15_000 },
      `${base}/${path}`,
    );
    // Firefox runs BiDi preload scripts in web pages only: the recorder starts now, before any action.
    await page.evaluate(STATE_RECORDER_SOURCE);
    return page;
  }

  async function waitForExtensionPage(path: string, timeout = 10_000): Promise<Page> {
    const url = `${base}/${path}`;
    const deadline = Date.now() + timeout;
    for (;;) {
      for (const page of await browser.pages()) {
        const at = await Promise.race([
          page.evaluate(() => location.href).catch(() => ''),
          new Promise<string>((resolve) => setTimeout(() => resolve(''), 500)),
        ]);
        if (at === url) return page;
      }
      if (Date.now() > deadline) throw new Error(`no tab on ${url} after ${timeout} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  const contextOf = (page: Page) => (page.mainFrame() as unknown as { _id: string })._id;

  async function waitForClosed(page: Page, timeout = 10_000): Promise<void> {
    const context = contextOf(page);
    const deadline = Date.now() + timeout;
    for (;;) {
      const tree = (await bidi.send('browsingContext.getTree', { maxDepth: 0 })).result as { contexts: { context: string }[] };
      if (!tree.contexts.some((c) => c.context === context)) return;
      if (Date.now() > deadline) throw new Error(`the tab on ${page.url()} is still open after ${timeout} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async function chooseMenuItem(page: Page, selector: string, frame?: Frame): Promise<number> {
    await page.bringToFront();
    const target = await (frame ?? page).waitForSelector(selector);
    if (!target) throw new Error(`no element ${selector} to right-click`);
    await target.scrollIntoView();
    await target.click({ button: 'right' });
    // The menu item's id derives from the gecko id and the menu id; find it by its label instead.
    const chosen = await inBrowserWindow<string | number>(`(async () => {
      const menu = document.getElementById('contentAreaContextMenu');
      for (let i = 0; i < 100 && menu.state !== 'open'; i++) await new Promise((r) => setTimeout(r, 20));
      if (menu.state !== 'open') return 'the page context menu did not open';
      const item = [...menu.querySelectorAll('menuitem')].find((i) => i.label === 'Classify skin lesion' && !i.hidden);
      if (!item) { menu.hidePopup(); return 'no "Classify skin lesion" item in the menu'; }
      const at = Date.now();
      menu.activateItem(item);
      return at;
    })()`);
    if (typeof chosen !== 'number') throw new Error(`right-click on ${selector}: ${chosen}`);
    return chosen;
  }

  return {
    browser,
    geckoId,
    base,
    output,
    openPage,
    openExtensionPage,
    waitForExtensionPage,
    waitForClosed,
    chooseMenuItem,
    async classifyByMenu(page, selector, { frame, timeout } = {}) {
      const where = frame ?? page;
      const after = (await stateLog(where)).length;
      await chooseMenuItem(page, selector, frame);
      return waitForFinalState(where, after, { timeout });
    },
    inBrowserWindow,
    async answerPrompt(notificationId, answer, { remember = false, timeout = 10_000 } = {}) {
      const done = await inBrowserWindow<string>(`(async () => {
        const id = ${JSON.stringify(notificationId)};
        let element = null;
        for (let i = 0; i < ${Math.ceil(timeout / 50)}; i++) {
          element = document.getElementById(id + '-notification');
          if (element && !element.hidden && PopupNotifications.panel.state === 'open') break;
          element = null;
          await new Promise((r) => setTimeout(r, 50));
        }
        if (!element) return 'no ' + id + ' prompt appeared (open: ' + [...PopupNotifications.panel.children].map((n) => n.id).join(', ') + ')';
        if (${remember}) { const box = element.checkbox; if (box && !box.checked) box.click(); }
        const button = ${answer === 'allow'} ? element.button : element.secondaryButton;
        button.click();
        return 'ok';
      })()`);
      if (done !== 'ok') throw new Error(done);
    },
    async terminateBackground() {
      const done = await inBrowserWindow<string>(`(async () => {
        const { ExtensionParent } = ChromeUtils.importESModule('resource://gre/modules/ExtensionParent.sys.mjs');
        const extension = ExtensionParent.GlobalManager.getExtension(${JSON.stringify(geckoId)});
        if (!extension) return 'the add-on is not running';
        await extension.terminateBackground();
        return 'ok';
      })()`);
      if (done !== 'ok') throw new Error(`terminateBackground: ${done}`);
    },
    async close() {
      await browser.close().catch(() => undefined);
    },
  };
}

/** The fixture server and one Firefox with the add-on, for the tests of one file. */
export interface FirefoxFixture {
  server: FixtureServer;
  session: FirefoxSession;
  /** Set when Firefox is missing: pass it as each test's `skip` option (the reason is printed). */
  skip: string | undefined;
}

/**
 * Registers before/after hooks that start the fixture server and Firefox (then `more`, the file's own
 * setup), and close both after the file's tests. Fields are set once `before` has run. Where Firefox is
 * missing nothing starts and `skip` holds the reason.
 */
export function useFirefox(options: LaunchOptions = {}, more: (fixture: FirefoxFixture) => Promise<void> = async () => {}): FirefoxFixture {
  const fixture = { skip: firefoxMissing() } as FirefoxFixture;
  before(async () => {
    if (fixture.skip) return;
    fixture.server = await startFixtureServer();
    fixture.session = await launchFirefox(options);
    await more(fixture);
  });
  after(async () => {
    await fixture.session?.close();
    await fixture.server?.close();
  });
  return fixture;
}
