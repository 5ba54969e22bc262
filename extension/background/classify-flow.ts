// The right-click flow, run by the context-menu handler (background/context-menu.ts) and, in test
// builds, by self.dermlens.classifyUrl: overlay into the image's frame (loading card), image bytes to
// the offscreen model, result or a readable error onto the card. The service worker itself never decodes an image.
import { browser } from '../shared/browser.ts';
import { browserName, type BrowserName } from '../shared/browser-name.ts';
import { extensionMayFetch } from './extension-fetch.ts';
import { hostGranted } from './host-access.ts';
import { askOffscreen, ensureOffscreen } from './offscreen-document.ts';
import { openPageCard, readImageInPage, updatePageCard } from './page-card.ts';
import { errorMessage, newRequestId, type CardState, type ClassificationResult, type ImageBytes } from '../shared/messages.ts';
import { isConnectionError, ReplyError } from '../shared/requests.ts';
import { blockedImageMessage, hostOf, unsupportedUrlMessage, type HostAnswer } from './urls.ts';

type HostAccess = Promise<HostAnswer> | null | undefined;

export interface ClassifyUrlOptions {
  /** Given when the overlay retries a request that got no answer; otherwise a new one. */
  requestId?: string;
  /** From requestHostAccessIfNeeded in the click handler: the user's answer to the host prompt. */
  hostAccess?: HostAccess;
  /** The page the click was in (the click info's pageUrl); looked up from the tab when not given. */
  pageUrl?: string;
}

const FRAME_MESSAGE =
  'This image is inside a frame from another website, which DermLens may not access. ' +
  'Right-click the image, choose "Open image in new tab", and classify it there.';

/** Pages no extension may touch, per browser. */
const CLOSED_PAGES: Record<BrowserName, string> = {
  Chrome: 'Chrome never allows access to some pages (chrome:// pages, the Chrome Web Store).',
  Firefox: 'Firefox never allows access to some pages (about: pages, addons.mozilla.org, reader view).',
};

function noAccessMessage(error: unknown): string {
  return (
    `DermLens cannot show its result in this tab (${errorMessage(error)}). ` +
    'Use "Classify skin lesion" in the image\'s right-click menu: that click gives DermLens access to the page. ' +
    CLOSED_PAGES[browserName()]
  );
}

/** Why an image neither the extension nor the page could read was refused, from what DermLens holds. */
async function blockedMessage(srcUrl: string, tabId: number, pageUrl: string | undefined, hostAccess: HostAccess): Promise<string> {
  // The tab's URL is visible to the extension while it has activeTab (which showing the card needed).
  const page =
    pageUrl ??
    (await browser.tabs.get(tabId).then(
      (tab) => tab.url,
      () => undefined,
    ));
  return blockedImageMessage({
    srcUrl,
    pageUrl: page,
    hostGranted: await hostGranted(srcUrl),
    answer: hostAccess ? await hostAccess : undefined,
    browser: browserName(),
  });
}

/** Classifies bytes that came from the popup or from the page. */
export function classifyImageBytes(image: ImageBytes, requestId: string): Promise<ClassificationResult> {
  return askOffscreen<ClassificationResult>({ target: 'offscreen', type: 'classify-bytes', requestId, image });
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

/**
 * The image fetched and classified from the extension's origin: needs no page, so it starts at once,
 * in parallel with injecting the overlay (after the user's answer to a host-permission prompt, if any).
 */
function classifyFromExtension(srcUrl: string, requestId: string, hostAccess: HostAccess): Promise<Settled<ClassificationResult>> {
  return settle(
    (async () => {
      if (hostAccess) await hostAccess;
      if (!(await extensionMayFetch(srcUrl))) throw new ReplyError('DermLens may not download this image itself.', 'fetch-blocked');
      return askOffscreen<ClassificationResult>({ target: 'offscreen', type: 'classify-url', requestId, url: srcUrl });
    })(),
  );
}

/** Completes classifyFromExtension, reading the image from inside the page where that is the only way. */
async function finishResult(
  fromExtension: Promise<Settled<ClassificationResult>> | null,
  srcUrl: string,
  tabId: number,
  frameId: number,
  requestId: string,
  hostAccess: HostAccess,
  pageUrl: string | undefined,
): Promise<ClassificationResult> {
  // blob: URLs belong to the page that made them: only the page can read them.
  if (!fromExtension) return classifyImageBytes(await readImageInPage(tabId, frameId, srcUrl), requestId);
  const settled = await fromExtension;
  if (settled.ok) return settled.value;
  const { error } = settled;
  const code = error instanceof ReplyError ? error.code : undefined;
  if (code !== 'fetch-blocked' && code !== 'http-auth') throw error;
  // From inside the page: same-origin images behind the page's cookies, and images whose server allows CORS.
  let bytes: ImageBytes;
  try {
    bytes = await readImageInPage(tabId, frameId, srcUrl);
  } catch {
    throw code === 'http-auth' ? error : new Error(await blockedMessage(srcUrl, tabId, pageUrl, hostAccess));
  }
  return classifyImageBytes(bytes, `${requestId}/page`);
}

/** Requests in progress in this service worker, so an overlay retry does not start a duplicate. */
const inFlight = new Map<string, Promise<void>>();
/**
 * Requests this service worker has finished (kept a minute), so a late watch message does not rerun them.
 * A request that ended in a connection error is not finished: the overlay re-sends it (see runClassifyUrl).
 */
const finishedHere = new Set<string>();
const FINISHED_TTL_MS = 60_000;

export function classifyUrl(srcUrl: string, tabId: number, frameId = 0, options: ClassifyUrlOptions = {}): Promise<void> {
  const requestId = options.requestId ?? newRequestId();
  const running = inFlight.get(requestId);
  if (running) return running;
  let final = true;
  const run = runClassifyUrl(srcUrl, tabId, frameId, requestId, options)
    .then((shownFinal) => {
      final = shownFinal;
    })
    .finally(() => {
      inFlight.delete(requestId);
      if (!final) return;
      finishedHere.add(requestId);
      setTimeout(() => finishedHere.delete(requestId), FINISHED_TTL_MS);
    });
  inFlight.set(requestId, run);
  return run;
}

/**
 * A loading card's port named its request: run it unless this worker is running it or has finished it
 * (the card then has, or is about to get, the answer). A worker that never saw the request (the one that
 * showed the card was stopped) runs it again; the offscreen document answers a request it already
 * finished from its cache.
 */
export function resumeClassifyUrl(srcUrl: string, tabId: number, frameId: number, requestId: string): Promise<void> {
  if (finishedHere.has(requestId)) return Promise.resolve();
  return classifyUrl(srcUrl, tabId, frameId, { requestId });
}

/**
 * Returns whether the card got its final state from this run; false when the run ended in a connection
 * error, which the card takes as a cue to re-send rather than as the answer.
 */
async function runClassifyUrl(
  srcUrl: string,
  tabId: number,
  frameId: number,
  requestId: string,
  options: ClassifyUrlOptions,
): Promise<boolean> {
  const { hostAccess, pageUrl } = options;
  const unsupported = unsupportedUrlMessage(srcUrl);
  const fromExtension = unsupported || srcUrl.startsWith('blob:') ? null : classifyFromExtension(srcUrl, requestId, hostAccess);
  // Start the model (if it is not running yet) while the overlay is injected.
  if (!fromExtension)
    ensureOffscreen().catch(() => {
      /* askOffscreen retries and reports */
    });

  // A frame from another site needs its host granted first (the prompt asked for it with the image's).
  if (frameId !== 0 && hostAccess) await hostAccess;
  const firstState: CardState = unsupported ? { kind: 'error', error: unsupported } : { kind: 'loading' };
  try {
    await openPageCard(tabId, frameId, requestId, srcUrl, firstState);
  } catch (error) {
    if (frameId === 0) throw new Error(noAccessMessage(error));
    try {
      await openPageCard(tabId, 0, requestId, srcUrl, { kind: 'error', error: FRAME_MESSAGE });
    } catch (topError) {
      throw new Error(noAccessMessage(topError));
    }
    return true;
  }
  if (unsupported) return true;
  const show = (state: CardState) => updatePageCard(tabId, frameId, requestId, srcUrl, state);

  // Only mention the permission prompt if the answer is not immediate (it is when granted before).
  let answered = false;
  hostAccess?.finally(() => {
    answered = true;
  });
  const promptNote = hostAccess
    ? setTimeout(() => {
        if (!answered)
          void show({ kind: 'loading', message: `Waiting for your permission to read images from ${hostOf(srcUrl)}…` }).catch(() => {});
      }, 300)
    : undefined;
  try {
    const result = await finishResult(fromExtension, srcUrl, tabId, frameId, requestId, hostAccess, pageUrl);
    await show({ kind: 'result', result });
    return true;
  } catch (error) {
    // A stopped worker lives on for a moment: its pending request to the offscreen document fails with a
    // connection error ("Could not establish connection. Receiving end does not exist."), and that must
    // not become the card's answer while a new worker is about to run the request again. The card
    // decides (it knows whether its port to the worker dropped and how many re-sends it has left).
    const retryable = isConnectionError(error);
    await show({ kind: 'error', error: errorMessage(error), ...(retryable ? { retryable } : {}) });
    return !retryable;
  } finally {
    clearTimeout(promptNote);
  }
}
