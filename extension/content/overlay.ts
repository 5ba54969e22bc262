// Injected into a page (once per document) by the service worker with chrome.scripting.executeScript.
// Shows the result card next to the right-clicked image, inside a CLOSED shadow root on a
// <dermlens-overlay> host: page CSS cannot reach inside and page scripts cannot read it. The card's
// visible state is mirrored as data-* attributes on the host (extension contract, for e2e tests); they
// reveal nothing beyond what the card shows. Also reads images the extension's origin cannot fetch
// (blob: URLs, which belong to this page, and same-origin or CORS-enabled images).
// Runs in the content script's isolated world, where window.customElements is null, so the card is the
// lit template of components/card-view.ts rendered with render() into a plain <dermlens-page-card>
// wrapper that is never defined as an element (the popup's <dermlens-card> custom element is another thing).
import { adoptStyles, html, render } from 'lit';
import { cardStyles, cardTemplate } from '../components/card-view.ts';
import { createHeatLayer, type HeatLayer } from './heat-layer.ts';
import { placeCard, type Box } from './placement.ts';
import { addMessageListener, browser, type Runtime } from '../shared/browser.ts';
import { blobToBase64, formatBytes, MAX_IMAGE_BYTES } from '../shared/image-bytes.ts';
import {
  CARD_PORT_NAME,
  isRequestFor,
  type BackgroundRequest,
  type CardState,
  type CardUpdate,
  type CardWatch,
  type ImageBytes,
  type Reply,
} from '../shared/messages.ts';
import { probabilitiesInClassOrder } from '../shared/result.ts';

const LOADED = '__dermlensOverlayLoaded';
/**
 * A loading card with no news for this long asks the service worker to run the request again, once. A
 * stopped worker is noticed at once through the card's port (see watchWorker); this timer is the
 * backstop for a worker that is alive but never answers.
 */
const RETRY_AFTER_MS = 35_000;
/**
 * Waits before re-connecting after the worker went away, one per try; a worker that keeps dying is left
 * to the watchdog. The first try is at once; later ones back off, because a connect() issued while Chrome
 * is still tearing the old worker down can land on it and be dropped with it.
 */
const RECONNECT_DELAYS_MS = [0, 100, 300, 1000, 3000];

type HostState = 'loading' | 'result' | 'error';

interface Card {
  requestId: string;
  srcUrl: string;
  host: HTMLElement;
  root: ShadowRoot;
  state: CardState;
  retried: boolean;
  watchdog?: ReturnType<typeof setTimeout>;
  /** Open to the service worker while the card is loading: it disconnects when the worker is stopped. */
  port?: Runtime.Port;
  /** How often the request was re-sent because the port disconnected (or could not connect). */
  resends: number;
  /** A re-connect waiting for its back-off delay. */
  reconnect?: ReturnType<typeof setTimeout>;
  /** The heatmap over the image, while "Where it looked" is on. */
  heat?: HeatLayer;
}

let card: Card | null = null;
/** Requests whose card was closed or replaced: late answers for them are dropped. */
const finished = new Set<string>();

/** What a host element on the page resets, so that no page rule can hide, move or restyle it. */
const PAGE_HOST_RESET: Readonly<Record<string, string>> = {
  all: 'initial',
  display: 'block',
  position: 'absolute',
  margin: '0',
  padding: '0',
  border: 'none',
  background: 'transparent',
  transform: 'none',
  filter: 'none',
  opacity: '1',
  visibility: 'visible',
};

/** The image last right-clicked, to tell apart several images with the same URL. */
let lastContextImage: HTMLImageElement | null = null;

function setImportant(element: HTMLElement, styles: Record<string, string>): void {
  for (const [property, value] of Object.entries(styles)) element.style.setProperty(property, value, 'important');
}

function findImage(srcUrl: string): HTMLImageElement | null {
  const matches = (img: HTMLImageElement) => img.isConnected && (img.currentSrc === srcUrl || img.src === srcUrl);
  if (lastContextImage && matches(lastContextImage)) return lastContextImage;
  for (const img of Array.from(document.images)) if (matches(img)) return img;
  return null;
}

/**
 * Puts `host` (absolutely positioned, child of <html>) at a box given in viewport pixels. The page may
 * zoom (html { zoom }), transform or offset what the host is positioned against, so rather than
 * predicting that, it measures: where left/top 0 lands and how wide 100 px come out, then sets the
 * zoom that cancels any scaling (the card keeps its own size) and the offsets that land it on the box.
 */
function positionAt(host: HTMLElement, box: { left: number; top: number; width: number; height?: number }): void {
  setImportant(host, { position: 'absolute', left: '0px', top: '0px', right: 'auto', bottom: 'auto', width: '100px', zoom: '1' });
  const probe = host.getBoundingClientRect();
  const scale = probe.width > 0 ? probe.width / 100 : 1;
  if (Math.abs(scale - 1) > 1e-3) setImportant(host, { zoom: String(1 / scale) });
  const origin = Math.abs(scale - 1) > 1e-3 ? host.getBoundingClientRect() : probe;
  setImportant(host, { left: `${box.left - origin.left}px`, top: `${box.top - origin.top}px`, width: `${box.width}px` });
  if (box.height !== undefined) setImportant(host, { height: `${box.height}px` });
}

/** The image's content box (inside border and padding: where its pixels are), in viewport pixels. */
function contentBox(image: HTMLImageElement): Box {
  const rect = image.getBoundingClientRect();
  const style = getComputedStyle(image);
  // Computed lengths are in the image's own CSS pixels; the rect's scale converts them (page zoom).
  const scale = image.offsetWidth > 0 ? rect.width / image.offsetWidth : 1;
  const px = (v: string) => (parseFloat(v) || 0) * scale;
  const left = px(style.borderLeftWidth) + px(style.paddingLeft);
  const top = px(style.borderTopWidth) + px(style.paddingTop);
  return {
    left: rect.left + left,
    top: rect.top + top,
    width: Math.max(0, rect.width - left - px(style.borderRightWidth) - px(style.paddingRight)),
    height: Math.max(0, rect.height - top - px(style.borderBottomWidth) - px(style.paddingBottom)),
  };
}

/** The visible viewport in CSS pixels, without scrollbars. */
function viewport(): { width: number; height: number } {
  const vv = window.visualViewport;
  return { width: vv ? vv.width : window.innerWidth, height: vv ? vv.height : window.innerHeight };
}

/** Places the card beside its image (content/placement.ts), and the heatmap over the image. */
function place(current: Card): void {
  const { host } = current;
  const image = findImage(current.srcUrl);
  const rect = image?.getBoundingClientRect();
  const box =
    image && rect && (rect.width > 0 || rect.height > 0)
      ? { left: rect.left, top: rect.top, width: rect.width, height: rect.height }
      : null;
  // The card's natural height, at the width it will get, before any limit.
  host.style.removeProperty('--dermlens-max-height');
  const first = placeCard(box, 0, viewport());
  positionAt(host, { left: first.left, top: first.top, width: first.width });
  const scale = host.offsetWidth > 0 ? host.getBoundingClientRect().width / host.offsetWidth : 1;
  const height = host.getBoundingClientRect().height;
  const placement = placeCard(box, height, viewport());
  if (placement.maxHeight !== null) host.style.setProperty('--dermlens-max-height', `${placement.maxHeight / scale}px`, 'important');
  positionAt(host, placement);
  host.setAttribute('data-side', placement.side);
  if (current.heat) {
    if (image && box) current.heat.place(contentBox(image));
    else current.heat.host.style.setProperty('display', 'none', 'important');
  }
}

/** Re-places the card at most once a frame while the page scrolls, resizes or reflows. */
let placePending = false;
function schedulePlace(): void {
  if (placePending || !card) return;
  placePending = true;
  requestAnimationFrame(() => {
    placePending = false;
    if (card) place(card);
  });
}

function createHost(): { host: HTMLElement; root: ShadowRoot } {
  const host = document.createElement('dermlens-overlay');
  // Inline !important beats any page rule, even !important ones, so the page cannot hide or restyle the host.
  setImportant(host, { ...PAGE_HOST_RESET, 'z-index': '2147483647' });
  const root = host.attachShadow({ mode: 'closed' });
  adoptStyles(root, [cardStyles]);
  // On <html>, not <body>: a positioned or transformed body would shift page coordinates.
  document.documentElement.append(host);
  return { host, root };
}

function mirror(host: HTMLElement, state: CardState): void {
  const kind: HostState = state.kind;
  host.setAttribute('data-state', kind);
  if (state.kind === 'result') {
    host.setAttribute('data-top', state.result.top);
    host.setAttribute('data-probabilities', probabilitiesInClassOrder(state.result).join(','));
    // "true" / "false" from the dermoscopy gate; absent for a model without one.
    // And data-image-kind: dermoscopic / clinical / other (a one-unit gate never says clinical).
    if (state.result.dermoscopy) {
      host.setAttribute('data-dermoscopic', String(state.result.dermoscopy.dermoscopic));
      host.setAttribute('data-image-kind', state.result.dermoscopy.kind);
    } else {
      host.removeAttribute('data-dermoscopic');
      host.removeAttribute('data-image-kind');
    }
  } else {
    host.removeAttribute('data-top');
    host.removeAttribute('data-probabilities');
    host.removeAttribute('data-dermoscopic');
    host.removeAttribute('data-image-kind');
  }
  if (state.kind === 'error') host.setAttribute('data-error', state.error);
  else host.removeAttribute('data-error');
}

/** Ends a card's request-side life: no more retries, no port; late answers for it are dropped. */
function retire(current: Card): void {
  clearTimeout(current.watchdog);
  releasePort(current);
  finished.add(current.requestId);
}

function removeCard(current: Card): void {
  retire(current);
  current.heat?.remove();
  current.host.remove();
  imageObserver.disconnect();
}

function closeCard(): void {
  if (!card) return;
  removeCard(card);
  card = null;
}

/** The image and the card change size (the result arrives, the page reflows): place again. */
const imageObserver = new ResizeObserver(() => schedulePlace());

function toggleHeatmap(current: Card, shown: boolean): void {
  current.heat?.remove();
  current.heat = undefined;
  if (shown && current.state.kind === 'result' && current.state.result.heatmap) {
    const { result } = current.state;
    current.heat = createHeatLayer(result.heatmap!, result.width, result.height, (host, box) => positionAt(host, box));
    // Just under the card, and never in the way of the page's own clicks.
    setImportant(current.heat.host, { ...PAGE_HOST_RESET, 'z-index': '2147483646', 'pointer-events': 'none' });
  }
  renderCard(current);
  place(current);
}

function renderCard(current: Card): void {
  const { state } = current;
  render(
    html`<dermlens-page-card>${cardTemplate({
      state: state.kind,
      result: state.kind === 'result' ? state.result : null,
      error: state.kind === 'error' ? state.error : '',
      message: state.kind === 'loading' ? state.message : '',
      closable: true,
      onClose: closeCard,
      heatmapShown: current.heat !== undefined,
      onToggleHeatmap: (shown) => toggleHeatmap(current, shown),
    })}</dermlens-page-card>`,
    current.root,
  );
  mirror(current.host, state);
  if (state.kind === 'result' && state.result.heatmap) current.host.setAttribute('data-heatmap', current.heat ? 'shown' : 'hidden');
  else current.host.removeAttribute('data-heatmap');
}

/** Asks the service worker to run the card's request again; idempotent by requestId. */
function resend(current: Card): void {
  const retry: BackgroundRequest = {
    target: 'background',
    type: 'retry-classify-url',
    requestId: current.requestId,
    srcUrl: current.srcUrl,
  };
  browser.runtime.sendMessage(retry).catch(() => {});
}

function releasePort(current: Card): void {
  const { port } = current;
  current.port = undefined;
  clearTimeout(current.reconnect);
  current.reconnect = undefined;
  port?.disconnect();
}

/**
 * While the card is loading, holds a port to the service worker, and names the card's request on it
 * (CARD_PORT_NAME): the worker that accepts the port owns the request, and runs it again (same requestId)
 * if it is not the one running it. MV3 stops workers when it likes, and the answer is lost with a stopped
 * worker; two races matter:
 * - the worker is stopped after it showed the loading card but before this connect(): connect() then
 *   wakes a NEW worker, which knows nothing of the request; the request named on the port makes it
 *   resume at once (without it the port just sat there until that worker idled out, 30 s later);
 * - the worker is stopped while the port is open: onDisconnect tells the page at once, and it connects
 *   again (the re-send), with a short back-off, because a connect() made while the old worker is still
 *   being torn down may land on it and be dropped with it. A connect() that throws counts as a drop too.
 * The offscreen document keeps answers by requestId, so a re-sent request it already finished gets that
 * answer without classifying again; a worker already running the request ignores the repeat.
 */
function watchWorker(current: Card): void {
  if (current.state.kind !== 'loading') {
    releasePort(current);
    return;
  }
  if (current.port || current.reconnect !== undefined) return;
  let port: Runtime.Port;
  try {
    port = browser.runtime.connect({ name: CARD_PORT_NAME });
    const watch: CardWatch = { type: 'watch', requestId: current.requestId, srcUrl: current.srcUrl };
    port.postMessage(watch);
  } catch {
    // The worker could not be reached (being replaced, or the extension was reloaded: then this copy is
    // orphaned and the watchdog reports it): try again like after a disconnect.
    scheduleReconnect(current);
    return;
  }
  current.port = port;
  port.onDisconnect.addListener(() => {
    // chrome.* because the "Unchecked runtime.lastError" log is Chrome's: reading chrome.runtime.lastError here silences it.
    void chrome.runtime.lastError;
    if (current.port !== port) return; // released by us
    current.port = undefined;
    scheduleReconnect(current);
  });
}

/** After the worker went away: connect again (naming the request re-sends it), after the try's back-off. */
function scheduleReconnect(current: Card): void {
  if (card !== current || current.state.kind !== 'loading' || current.resends >= RECONNECT_DELAYS_MS.length) return;
  const delay = RECONNECT_DELAYS_MS[current.resends++]!;
  const reconnect = () => {
    current.reconnect = undefined;
    if (card === current) watchWorker(current);
  };
  if (delay === 0) reconnect();
  else current.reconnect = setTimeout(reconnect, delay);
}

/**
 * A worker reported that it lost its connection while working on the card's request (it is most likely
 * being stopped; the error says nothing about the image). While the card is still loading and has
 * re-sends left, re-send instead of showing it: drop the port and connect again, which names the request
 * to whichever worker accepts (a new one runs it; a live one that failed runs it again). Returns whether
 * the error was absorbed: also when the card already has its answer (a dying worker's late word).
 */
function resendAfterConnectionError(current: Card): boolean {
  if (current.state.kind === 'result') return true;
  if (current.state.kind !== 'loading' || current.resends >= RECONNECT_DELAYS_MS.length) return false;
  releasePort(current);
  scheduleReconnect(current);
  return true;
}

function armWatchdog(current: Card): void {
  clearTimeout(current.watchdog);
  // Waiting on the user's answer to a permission prompt is not a hang.
  if (current.state.kind !== 'loading' || current.state.message) return;
  current.watchdog = setTimeout(() => {
    if (card !== current || current.state.kind !== 'loading') return;
    if (!current.retried) {
      current.retried = true;
      resend(current);
      armWatchdog(current);
    } else {
      current.state = { kind: 'error', error: 'DermLens did not answer. Right-click the image and try again.' };
      renderCard(current);
      watchWorker(current);
    }
  }, RETRY_AFTER_MS);
}

function showCard(update: CardUpdate): void {
  if (finished.has(update.requestId)) return;
  if (!card || card.requestId !== update.requestId) {
    if (card) removeCard(card);
    const { host, root } = createHost();
    card = { requestId: update.requestId, srcUrl: update.srcUrl, host, root, state: update.state, retried: false, resends: 0 };
    renderCard(card);
    place(card);
    const image = findImage(update.srcUrl);
    if (image) imageObserver.observe(image);
    imageObserver.observe(host);
    root.querySelector<HTMLElement>('h2')?.focus({ preventScroll: true });
  } else {
    // A re-sent request starts again with a loading update; the card keeps an answer it already has.
    if (update.state.kind === 'loading' && card.state.kind === 'result') return;
    if (update.state.kind === 'error' && update.state.retryable && resendAfterConnectionError(card)) return;
    card.state = update.state;
    renderCard(card);
    place(card);
  }
  armWatchdog(card);
  watchWorker(card);
}

async function readImage(url: string): Promise<Reply<ImageBytes>> {
  try {
    const response = await fetch(url, { credentials: 'same-origin' });
    if (!response.ok) return { ok: false, error: `The page's request for the image returned HTTP ${response.status}.` };
    const blob = await response.blob();
    if (blob.size > MAX_IMAGE_BYTES) {
      return { ok: false, error: `The image file is too large (${formatBytes(blob.size)}); the limit is ${formatBytes(MAX_IMAGE_BYTES)}.` };
    }
    return { ok: true, result: { base64: await blobToBase64(blob), mime: blob.type } };
  } catch {
    return {
      ok: false,
      error: url.startsWith('blob:')
        ? 'This image (a blob: URL) is no longer available: the page has released it. Reload the page and try again.'
        : 'The page may not read this image either (its server does not allow it).',
    };
  }
}

function start(): void {
  // A copy injected by an earlier version of the extension lost its connection; its cards are orphans.
  document.querySelectorAll('dermlens-overlay').forEach((element) => element.remove());

  document.addEventListener(
    'contextmenu',
    (event) => {
      const target = event.composedPath()[0];
      lastContextImage = target instanceof HTMLImageElement ? target : null;
    },
    true,
  );
  document.addEventListener(
    'keydown',
    (event) => {
      if (event.key === 'Escape' && card && event.composedPath().includes(card.host)) closeCard();
    },
    true,
  );
  // Capture: scrolling any container the image may be in, not only the page.
  window.addEventListener('scroll', schedulePlace, { capture: true, passive: true });
  window.addEventListener('resize', schedulePlace);
  window.visualViewport?.addEventListener('resize', schedulePlace);

  addMessageListener((message, _sender, sendResponse) => {
    if (!isRequestFor(message, 'content')) return false;
    switch (message.type) {
      case 'card':
        showCard(message);
        sendResponse(null);
        return false;
      case 'read-image':
        void readImage(message.url).then(sendResponse);
        return true;
      default:
        return false;
    }
  });
}

const world = globalThis as unknown as Record<string, boolean>;
if (!world[LOADED]) {
  world[LOADED] = true;
  start();
}
