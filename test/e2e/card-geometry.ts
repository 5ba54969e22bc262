// Reads what the user sees of the page overlay's result card, from inside its CLOSED shadow root (through
// DevTools, which page scripts cannot do), and what the popup shows: boxes in viewport pixels, whether a
// class name is cut, how many lines a percentage takes. Shared by layout.test.ts and npm run screenshots.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CDPSession, ElementHandle, Page } from 'puppeteer-core';
import { classifyAndWait, stateLog, waitForDeepSelector, waitForFinalState, type ExtensionFixture, type StateEntry } from './harness.ts';

export interface Rect {
  left: number;
  top: number;
  right: number;
  bottom: number;
  width: number;
  height: number;
}

export interface CardLayout {
  card: Rect;
  /** What the card leads with: the lesion verdict, or for an image the dermoscopy gate flags, that notice. */
  verdict: Rect;
  /** The dermoscopy gate flagged the image (the lesion answer sits behind "Show the result anyway"). */
  flagged: boolean;
  disclaimer: Rect;
  /** The card scrolls inside (it was shortened to fit). */
  scrollable: boolean;
  names: { text: string; cut: boolean }[];
  percents: { text: string; lines: number }[];
  topNameFontSize: string;
  side: string | null;
}

export interface PageLayout {
  card: CardLayout;
  host: Rect;
  image: Rect;
  /** Viewport without scrollbars, in CSS pixels, and the page's scrollable width. */
  viewport: { width: number; height: number };
  scrollWidth: number;
  clientWidth: number;
  /** The page's own scroll width before the card appeared (a page wider than a tiny window scrolls anyway). */
  scrollWidthBefore?: number;
}

/** Runs in the card's shadow root (`this`); plain source, because tsx would wrap named functions. */
const MEASURE_CARD = `function () {
  const box = (el) => { const b = el.getBoundingClientRect(); return { left: b.left, top: b.top, right: b.right, bottom: b.bottom, width: b.width, height: b.height }; };
  const card = this.querySelector('.card');
  return {
    card: box(card),
    verdict: box(this.querySelector('[data-part="not-dermoscopic"]') ?? this.querySelector('[data-part="verdict"]')),
    flagged: this.querySelector('[data-part="not-dermoscopic"]') !== null,
    disclaimer: box(this.querySelector('.disclaimer')),
    scrollable: card.scrollHeight > card.clientHeight + 1,
    names: [...this.querySelectorAll('.row .name')].map((n) => ({
      text: n.textContent,
      cut: getComputedStyle(n).textOverflow === 'ellipsis' || n.scrollWidth > n.clientWidth + 0.5 || n.scrollHeight > n.clientHeight + 1,
    })),
    percents: [...this.querySelectorAll('.row .percent')].map((p) => ({ text: p.textContent, lines: Math.round(p.getBoundingClientRect().height / parseFloat(getComputedStyle(p).lineHeight)) })),
    topNameFontSize: getComputedStyle(this.querySelector('.top-name')).fontSize,
    side: null,
  };
}`;

interface DomNode {
  nodeName: string;
  backendNodeId: number;
  children?: DomNode[];
  shadowRoots?: DomNode[];
}

function find(node: DomNode, name: string): DomNode | undefined {
  if (node.nodeName === name) return node;
  for (const child of [...(node.children ?? []), ...(node.shadowRoots ?? [])]) {
    const hit = find(child, name);
    if (hit) return hit;
  }
  return undefined;
}

/** Calls `source` (a function declaration) with `this` = the overlay's closed shadow root. */
export async function inOverlayRoot<T>(page: Page, source: string, cdp?: CDPSession): Promise<T> {
  const session = cdp ?? (await page.createCDPSession());
  try {
    const { root } = (await session.send('DOM.getDocument', { depth: -1, pierce: true })) as unknown as { root: DomNode };
    const host = find(root, 'DERMLENS-OVERLAY');
    const shadow = host?.shadowRoots?.[0];
    if (!shadow) throw new Error('no <dermlens-overlay> with a shadow root in the page');
    const { object } = await session.send('DOM.resolveNode', { backendNodeId: shadow.backendNodeId });
    const { result, exceptionDetails } = await session.send('Runtime.callFunctionOn', {
      objectId: object.objectId!,
      functionDeclaration: source,
      returnByValue: true,
      awaitPromise: true,
    });
    if (exceptionDetails) throw new Error(`in the card: ${exceptionDetails.exception?.description ?? exceptionDetails.text}`);
    return result.value as T;
  } finally {
    if (!cdp) await session.detach().catch(() => undefined);
  }
}

/** Clicks an element of the card as a user would (a real mouse click at its centre). */
export async function clickInCard(page: Page, selector: string): Promise<void> {
  const point = await inOverlayRoot<{ x: number; y: number }>(
    page,
    `function () {
    const b = this.querySelector(${JSON.stringify(selector)}).getBoundingClientRect();
    return { x: b.left + b.width / 2, y: b.top + b.height / 2 };
  }`,
  );
  await page.mouse.click(point.x, point.y);
}

export async function pageLayout(page: Page, imageSelector = '#photo'): Promise<PageLayout> {
  const card = await inOverlayRoot<CardLayout>(page, MEASURE_CARD);
  const outside = (await page.evaluate(`(() => {
    const box = (el) => { const b = el.getBoundingClientRect(); return { left: b.left, top: b.top, right: b.right, bottom: b.bottom, width: b.width, height: b.height }; };
    const host = document.querySelector('dermlens-overlay');
    const vv = window.visualViewport;
    return {
      host: box(host),
      side: host.getAttribute('data-side'),
      image: box(document.querySelector(${JSON.stringify(imageSelector)})),
      viewport: { width: vv.width, height: vv.height },
      scrollWidth: document.documentElement.scrollWidth,
      clientWidth: document.documentElement.clientWidth,
    };
  })()`)) as Omit<PageLayout, 'card'> & { side: string | null };
  return {
    card: { ...card, side: outside.side },
    host: outside.host,
    image: outside.image,
    viewport: outside.viewport,
    scrollWidth: outside.scrollWidth,
    clientWidth: outside.clientWidth,
  };
}

/** Waits two frames, so a scroll or resize has been followed (the overlay re-places once per frame). */
export async function settle(page: Page): Promise<void> {
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
}

export const overlaps = (a: Rect, b: Rect) => a.left < b.right && a.right > b.left && a.top < b.bottom && a.bottom > b.top;

let opened = 0;

/**
 * Opens layout page `name` (fixtures/layout-pages.ts) at `viewport`, lets `prepare` scroll it, right-clicks
 * its photo (the context-menu hook, after the activeTab grant) and returns the card's layout once shown.
 */
export async function showCardOn(
  fixture: ExtensionFixture,
  name: string,
  viewport: { width: number; height: number },
  prepare?: (page: Page) => Promise<void>,
  { expand = true } = {},
): Promise<{ page: Page; layout: PageLayout; entry: StateEntry }> {
  // A query per page: tabs are found by URL, and a failed test may leave its tab open.
  const page = await fixture.session.openPage(`${fixture.server.origin}/layout/${name}.html?n=${++opened}`);
  await page.setViewport(viewport);
  await page.evaluate(() => (document.getElementById('photo') as HTMLImageElement).decode());
  if (prepare) await prepare(page);
  const scrollWidthBefore = await page.evaluate(() => document.documentElement.scrollWidth);
  const tabId = await fixture.session.grantActiveTab(page);
  const entry = await classifyAndWait(fixture.session, page, `${fixture.server.origin}/layout/photo.jpg`, tabId);
  await settle(page);
  if (expand) await openIfFlagged(page);
  return { page, layout: { ...(await pageLayout(page)), scrollWidthBefore }, entry };
}

/**
 * The layout photos are synthetic, and the shipped model's dermoscopy gate flags them: the card then leads
 * with that notice and folds the lesion answer away. A user who opens "Show the result anyway" gets the
 * tallest card there is, so that is the one measured: every invariant must hold for it too.
 */
export async function openIfFlagged(page: Page): Promise<void> {
  const flagged = await inOverlayRoot<boolean>(
    page,
    `function () { return this.querySelector('details[data-part="show-anyway"]') !== null; }`,
  );
  if (!flagged) return;
  await clickInCard(page, 'details[data-part="show-anyway"] summary');
  await settle(page);
}

/** Uploads `bytes` as a file in the popup page and returns its next final state. */
export async function uploadToPopup(popup: Page, bytes: Buffer, name: string): Promise<StateEntry> {
  const dir = mkdtempSync(join(tmpdir(), 'dermlens-upload-'));
  try {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    const before = (await stateLog(popup)).length;
    const input = (await waitForDeepSelector(popup, 'dermlens-popup >>> input[type=file]')) as ElementHandle<HTMLInputElement>;
    await input.uploadFile(path);
    return await waitForFinalState(popup, before, { tag: 'dermlens-popup' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
