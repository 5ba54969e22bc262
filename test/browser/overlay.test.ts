/// <reference types="mocha" />
// The page overlay (content/overlay.ts) in a real page: card placement next to the image, the closed
// shadow root, the data-* mirror for tests, page CSS that cannot break it, text-only rendering, stale
// answers, closing, and reading page-scoped (blob:) images.
import { fakeChrome } from './fake-chrome.ts';
import { expect } from '@open-wc/testing';
import {
  CARD_PORT_NAME,
  type CardUpdate,
  type ClassificationResult,
  type ImageBytes,
  type Reply,
} from '../../extension/shared/messages.ts';
import { base64ToBytes } from '../../extension/shared/image-bytes.ts';
import {
  canvasPng,
  CLINICAL_RESULT,
  FLAGGED_RESULT,
  resultFrom,
  SAMPLE_HEATMAP,
  SAMPLE_PROBABILITIES,
  SAMPLE_RESULT,
  waitFor,
} from './helpers.ts';

// The overlay's shadow root is closed, so page scripts (and this test) cannot reach it through the host.
// The test records roots as they are attached, to click the close button and read the rendered text.
const closedRoots = new WeakMap<Element, ShadowRoot>();
const attachShadow = Element.prototype.attachShadow;
Element.prototype.attachShadow = function (this: Element, init: ShadowRootInit) {
  const root = attachShadow.call(this, init);
  closedRoots.set(this, root);
  return root;
};
await import('../../extension/content/overlay.ts');

const IMAGE_SRC = `data:image/png;base64,${btoa(String.fromCharCode(...(await canvasPng(200, 150))))}`;

function card(requestId: string, state: CardUpdate['state'], srcUrl = IMAGE_SRC): Promise<unknown> {
  return fakeChrome.deliver({ target: 'content', type: 'card', requestId, srcUrl, state } satisfies CardUpdate);
}
const host = () => document.querySelector<HTMLElement>('dermlens-overlay');
const shadow = () => closedRoots.get(host()!)!;
const result = (r: ClassificationResult = SAMPLE_RESULT) => ({ kind: 'result' as const, result: r });

describe('page overlay (content script)', () => {
  let image: HTMLImageElement;

  before(async () => {
    const style = document.createElement('style');
    // A hostile page stylesheet: it must not hide, move or restyle the card.
    style.textContent = `
      dermlens-overlay { display: none !important; opacity: 0 !important; position: static !important; }
      * { color: rgb(255, 0, 0) !important; font-size: 40px !important; }
      body { margin: 0; }`;
    document.head.append(style);
    image = new Image(200, 150);
    image.src = IMAGE_SRC;
    image.style.cssText = 'position: absolute; left: 20px; top: 30px;';
    document.body.append(image);
    await image.decode();
  });

  afterEach(() => host()?.remove());

  it('listens once, and leaves messages for other targets and unknown types unanswered', async () => {
    expect(fakeChrome.listenerCount()).to.equal(1);
    const update = { target: 'content', type: 'card', requestId: 'r0', srcUrl: IMAGE_SRC, state: { kind: 'loading' } };
    expect(await fakeChrome.deliver({ ...update, target: 'offscreen' }), 'another target').to.equal(undefined);
    expect(await fakeChrome.deliver({ ...update, type: 'unknown' }), 'an unknown type').to.equal(undefined);
    expect(host(), 'no card for either').to.equal(null);
  });

  it('shows a loading card next to the image in a closed shadow root, then the result', async () => {
    await card('r1', { kind: 'loading' });
    const el = host()!;
    expect(el.shadowRoot, 'closed shadow root').to.equal(null);
    expect(el.dataset.state).to.equal('loading');
    expect(el.dataset.top).to.equal(undefined);
    const box = el.getBoundingClientRect();
    const img = image.getBoundingClientRect();
    expect(box.left).to.equal(img.right + 8);
    expect(box.top).to.equal(img.top);
    expect(getComputedStyle(el).display).to.equal('block');
    expect(getComputedStyle(el).opacity).to.equal('1');
    expect(getComputedStyle(el).position).to.equal('absolute');
    expect(shadow().querySelector('.loading')!.textContent).to.contain('Classifying');
    // The card template in a plain wrapper: content scripts cannot define the popup's <dermlens-card> element.
    expect(shadow().querySelector('dermlens-page-card .card'), 'the template inside <dermlens-page-card>').to.not.equal(null);
    expect(shadow().querySelector('dermlens-card')).to.equal(null);

    await card('r1', result());
    expect(el.dataset.state).to.equal('result');
    expect(el.dataset.top).to.equal('nv');
    expect(el.dataset.probabilities!.split(',').map(Number)).to.deep.equal(SAMPLE_PROBABILITIES);
    expect(host(), 'the same host is updated').to.equal(el);
    const r = shadow();
    expect(r.querySelector('.top-name')!.textContent).to.equal('Melanocytic nevus');
    expect(r.querySelectorAll('.row').length).to.equal(7);
    expect(r.querySelector('.disclaimer')!.textContent).to.contain('Not a diagnosis');
    // Page CSS does not reach inside.
    const text = getComputedStyle(r.querySelector('.top-name')!);
    expect(text.color).to.not.equal('rgb(255, 0, 0)');
    expect(text.fontSize).to.not.equal('40px');
  });

  it('stays next to the image when the page positions and transforms its body', async () => {
    document.body.style.cssText = 'position: relative; top: 40px; margin-left: 30px; transform: translateX(15px);';
    window.scrollTo(0, 0);
    try {
      await card('p1', { kind: 'loading' });
      const box = host()!.getBoundingClientRect();
      const img = image.getBoundingClientRect();
      expect(box.left).to.equal(img.right + 8);
      expect(box.top).to.equal(img.top);
    } finally {
      document.body.style.cssText = '';
    }
  });

  it('survives page zoom (html { zoom: 1.6 }): beside the image, card at its own size, inside the viewport', async () => {
    document.documentElement.style.zoom = '1.6';
    window.scrollTo(0, 0);
    try {
      await card('z1', result());
      const box = host()!.getBoundingClientRect();
      const img = image.getBoundingClientRect();
      expect(box.left).to.be.closeTo(img.right + 8, 1);
      expect(box.top).to.be.closeTo(img.top, 1);
      expect(box.width, 'not scaled by the page zoom').to.be.closeTo(340, 1);
      expect(box.right).to.be.at.most(window.innerWidth - 8 + 0.5);
      expect(box.bottom).to.be.at.most(window.innerHeight - 8 + 0.5);
      expect(document.documentElement.scrollWidth, 'no horizontal scrollbar').to.be.at.most(document.documentElement.clientWidth);
    } finally {
      document.documentElement.style.zoom = '';
    }
  });

  it('"Where it looked" lays the heatmap over the image, lets clicks through, follows it, and goes with the card', async () => {
    await card('heat1', result(resultFrom(SAMPLE_PROBABILITIES, { heatmap: SAMPLE_HEATMAP, width: 600, height: 450 })));
    expect(host()!.dataset.heatmap).to.equal('hidden');
    expect(document.querySelector('dermlens-heatmap')).to.equal(null);
    shadow().querySelector<HTMLButtonElement>('.heatmap-toggle')!.click();
    expect(host()!.dataset.heatmap).to.equal('shown');
    const layer = document.querySelector<HTMLElement>('dermlens-heatmap')!;
    expect(layer.shadowRoot, 'closed shadow root').to.equal(null);
    expect(getComputedStyle(layer).pointerEvents).to.equal('none');
    const [a, b] = [image.getBoundingClientRect(), layer.getBoundingClientRect()];
    for (const k of ['left', 'top', 'width', 'height'] as const) expect(b[k], k).to.be.closeTo(a[k], 0.5);
    image.style.left = '60px';
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    expect(layer.getBoundingClientRect().left, 'follows the image').to.be.closeTo(image.getBoundingClientRect().left, 0.5);
    expect(host()!.getBoundingClientRect().left, 'and so does the card').to.be.closeTo(image.getBoundingClientRect().right + 8, 0.5);
    image.style.left = '20px';
    shadow().querySelector<HTMLButtonElement>('.close')!.click();
    expect(document.querySelector('dermlens-heatmap'), 'closed with the card').to.equal(null);
  });

  it('shows errors as text only and mirrors them', async () => {
    const hostile = '<img src=x onerror="window.__overlayPwned=1">';
    await card('r2', { kind: 'error', error: hostile });
    expect(host()!.dataset.state).to.equal('error');
    expect(host()!.dataset.error).to.equal(hostile);
    expect(shadow().querySelector('.error-text')!.textContent).to.equal(hostile);
    expect(shadow().querySelector('.error img')).to.equal(null);
    expect((window as unknown as { __overlayPwned?: number }).__overlayPwned).to.equal(undefined);
  });

  it('replaces the card for a new request and drops late answers for the old one', async () => {
    await card('old', { kind: 'loading' });
    await card('new', { kind: 'loading' });
    expect(document.querySelectorAll('dermlens-overlay').length).to.equal(1);
    await card('old', result());
    expect(host()!.dataset.state).to.equal('loading');
    await card('new', result());
    expect(host()!.dataset.state).to.equal('result');
  });

  it('closes with its close button or Escape, and ignores answers after closing', async () => {
    await card('c1', result());
    shadow().querySelector<HTMLButtonElement>('button.close')!.click();
    expect(host()).to.equal(null);
    await card('c1', { kind: 'error', error: 'late' });
    expect(host(), 'a closed request stays closed').to.equal(null);

    await card('c2', result());
    const button = shadow().querySelector<HTMLButtonElement>('button.close')!;
    button.focus();
    button.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true, composed: true }));
    expect(host()).to.equal(null);
  });

  it('puts the card at the top right of the viewport when the image is gone', async () => {
    await card('g1', { kind: 'loading' }, 'https://example.com/not-on-this-page.png');
    const box = host()!.getBoundingClientRect();
    expect(box.top).to.equal(8);
    expect(box.right).to.be.closeTo(window.innerWidth - 8, 0.5);
  });

  it('reads blob: images of the page (which only the page can read) as base64', async () => {
    const bytes = await canvasPng(30, 20);
    const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'image/png' }));
    const reply = (await fakeChrome.deliver({ target: 'content', type: 'read-image', url })) as Reply<ImageBytes>;
    expect(reply.ok).to.equal(true);
    if (!reply.ok) return;
    expect(reply.result.mime).to.equal('image/png');
    expect(Array.from(base64ToBytes(reply.result.base64))).to.deep.equal(Array.from(bytes));

    URL.revokeObjectURL(url);
    const revoked = (await fakeChrome.deliver({ target: 'content', type: 'read-image', url })) as Reply<ImageBytes>;
    expect(revoked).to.deep.equal({
      ok: false,
      error: 'This image (a blob: URL) is no longer available: the page has released it. Reload the page and try again.',
    });
  });

  /**
   * Replaces setTimeout and clearTimeout while `body` runs; `flush()` runs the pending timers shorter than
   * the 35 s watchdog and returns their delays.
   */
  async function withFakeTimers(body: (flush: () => number[]) => Promise<void>): Promise<void> {
    const realSetTimeout = window.setTimeout;
    const realClearTimeout = window.clearTimeout;
    const timers = new Map<number, { fn: () => void; ms: number }>();
    let nextId = 1;
    const fakeWindow = window as unknown as { setTimeout: unknown; clearTimeout: unknown };
    fakeWindow.setTimeout = (fn: () => void, ms = 0) => {
      timers.set(nextId, { fn, ms });
      return nextId++;
    };
    fakeWindow.clearTimeout = (id: number) => {
      timers.delete(id);
    };
    const flush = () => {
      const due = [...timers].filter(([, t]) => t.ms < 35_000);
      due.forEach(([id]) => timers.delete(id));
      due.forEach(([, t]) => t.fn());
      return due.map(([, t]) => t.ms);
    };
    try {
      await body(flush);
    } finally {
      window.setTimeout = realSetTimeout;
      window.clearTimeout = realClearTimeout;
    }
  }

  it('names its request on the port to the worker, so a worker started by that connect runs it', async () => {
    fakeChrome.sent.length = 0;
    fakeChrome.ports.length = 0;
    await card('w0', { kind: 'loading' });
    // The worker that showed the card may be stopped before the page connects: connect() then wakes a new
    // worker, which learns the request from the port's first message.
    expect(fakeChrome.ports.map((p) => p.name)).to.deep.equal([CARD_PORT_NAME]);
    expect(fakeChrome.ports[0].posted).to.deep.equal([{ type: 'watch', requestId: 'w0', srcUrl: IMAGE_SRC }]);
    expect(fakeChrome.sent, 'no other message').to.deep.equal([]);
    await card('w0', result());
    expect(fakeChrome.ports[0].disconnected, 'port released once answered').to.equal(true);
  });

  it('re-sends the same request at once when the service worker goes away mid-request', async () => {
    fakeChrome.sent.length = 0;
    fakeChrome.ports.length = 0;
    const watch = { type: 'watch', requestId: 'w1', srcUrl: IMAGE_SRC };
    await card('w1', { kind: 'loading' });
    expect(
      fakeChrome.ports.map((p) => p.name),
      'a port to the worker while loading',
    ).to.deep.equal([CARD_PORT_NAME]);

    // Chrome stops the worker: the port disconnects, and the card connects again right away (no 35 s
    // wait), naming the same request, which wakes a new worker that runs it.
    fakeChrome.ports[0].disconnectFromOtherSide();
    expect(fakeChrome.ports.length).to.equal(2);
    expect(fakeChrome.ports[1].disconnected).to.equal(false);
    expect(fakeChrome.ports[1].posted).to.deep.equal([watch]);

    // The new worker re-opens the same card (loading), then answers; the port is released.
    await card('w1', { kind: 'loading' });
    expect(fakeChrome.ports.length, 'no extra port for the same request').to.equal(2);
    await card('w1', result());
    expect(host()!.dataset.state).to.equal('result');
    expect(fakeChrome.ports[1].disconnected, 'port released once answered').to.equal(true);

    // A late loading update for the same request (a re-send racing the answer) keeps the result.
    await card('w1', { kind: 'loading' });
    expect(host()!.dataset.state).to.equal('result');
    expect(fakeChrome.ports.length).to.equal(2);
    expect(fakeChrome.sent, 'the port is the only channel used').to.deep.equal([]);
  });

  it('re-connects with a growing back-off, five times at most, for a worker that keeps going away; a failed connect counts', async () => {
    await withFakeTimers(async (flush) => {
      fakeChrome.ports.length = 0;
      await card('w2', { kind: 'loading' });
      const delays: number[] = [];
      fakeChrome.ports.at(-1)!.disconnectFromOtherSide(); // first re-connect: at once
      // The second one throws (the worker could not be reached): treated like a drop, tried again later.
      fakeChrome.connectError = new Error('Could not establish connection. Receiving end does not exist.');
      fakeChrome.ports.at(-1)!.disconnectFromOtherSide();
      delays.push(...flush());
      fakeChrome.connectError = null;
      delays.push(...flush());
      for (let i = 0; i < 5; i++) {
        fakeChrome.ports.at(-1)!.disconnectFromOtherSide();
        delays.push(...flush());
      }
      expect(delays, 'back-off between tries (the watchdog left alone)').to.deep.equal([100, 300, 1000, 3000]);
      // 1 first port + 5 re-connects, one of which threw.
      expect(fakeChrome.ports.length).to.equal(5);
      for (const port of fakeChrome.ports) expect(port.posted).to.deep.equal([{ type: 'watch', requestId: 'w2', srcUrl: IMAGE_SRC }]);
      expect(host()!.dataset.state, 'still waiting: the watchdog has the last word').to.equal('loading');
    });

    fakeChrome.ports.length = 0;
    await card('w3', { kind: 'loading' });
    shadow().querySelector<HTMLButtonElement>('button.close')!.click();
    expect(fakeChrome.ports[0].disconnected).to.equal(true);
    fakeChrome.ports[0].disconnectFromOtherSide();
    expect(fakeChrome.ports.length, 'a closed card re-connects nothing').to.equal(1);
  });

  it('a pending re-connect is cancelled when the answer arrives', async () => {
    await withFakeTimers(async (flush) => {
      fakeChrome.ports.length = 0;
      await card('w4', { kind: 'loading' });
      fakeChrome.ports[0].disconnectFromOtherSide(); // at once: port 2
      fakeChrome.ports[1].disconnectFromOtherSide(); // after 100 ms: pending
      await card('w4', result());
      expect(flush(), 'the pending re-connect was cleared').to.deep.equal([]);
      expect(fakeChrome.ports.length).to.equal(2);
    });
  });

  it('a connection error from a dying worker re-sends while re-sends are left, and is shown once they are used up', async () => {
    await withFakeTimers(async (flush) => {
      fakeChrome.ports.length = 0;
      const lost = 'Could not establish connection. Receiving end does not exist.';
      await card('w5', { kind: 'loading' });
      await card('w5', { kind: 'error', error: lost, retryable: true });
      expect(host()!.dataset.state, 'not shown: the request is sent again').to.equal('loading');
      flush();
      expect(fakeChrome.ports.length, 'a new port names the same request').to.equal(2);
      expect(fakeChrome.ports[1].posted).to.deep.equal([{ type: 'watch', requestId: 'w5', srcUrl: IMAGE_SRC }]);
      for (let i = 0; i < 5; i++) {
        await card('w5', { kind: 'error', error: lost, retryable: true });
        flush();
      }
      expect(host()!.dataset.state, 'after the last re-send the error is shown').to.equal('error');
      expect(host()!.dataset.error).to.equal(lost);
    });
    // A non-retryable error is final at once.
    await card('w6', { kind: 'loading' });
    await card('w6', { kind: 'error', error: 'HTTP 404' });
    expect(host()!.dataset.state).to.equal('error');
  });

  it('asks the service worker to retry a request that hangs, once', async () => {
    // Not waiting 35 s: the retry timer is checked via a loading card left alone with fake timers.
    const realSetTimeout = window.setTimeout;
    const timers: (() => void)[] = [];
    (window as unknown as { setTimeout: unknown }).setTimeout = (fn: () => void) => {
      timers.push(fn);
      return 0;
    };
    try {
      fakeChrome.sent.length = 0;
      await card('h1', { kind: 'loading' });
      expect(timers.length).to.be.greaterThan(0);
      timers.splice(0).forEach((fn) => fn());
      expect(fakeChrome.sent).to.deep.equal([{ target: 'background', type: 'retry-classify-url', requestId: 'h1', srcUrl: IMAGE_SRC }]);
      timers.splice(0).forEach((fn) => fn());
      expect(fakeChrome.sent.length, 'only one retry').to.equal(1);
      await waitFor(() => host()!.dataset.state === 'error', 'gives up with an error');
      expect(host()!.dataset.error).to.contain('did not answer');
    } finally {
      window.setTimeout = realSetTimeout;
    }
  });

  it('an image the dermoscopy gate flags: the page card leads with it and mirrors data-dermoscopic', async () => {
    await card('gate1', result(FLAGGED_RESULT));
    const el = host()!;
    expect(el.dataset.dermoscopic).to.equal('false');
    expect(el.dataset.imageKind).to.equal('other');
    const r = shadow();
    expect(r.querySelector('[data-part="not-dermoscopic"]')!.textContent).to.contain(
      'This does not look like a dermoscopic image of a skin lesion.',
    );
    const anyway = r.querySelector<HTMLDetailsElement>('details[data-part="show-anyway"]')!;
    expect(anyway.open).to.equal(false);
    expect(anyway.querySelector<HTMLElement>('.bars')!.checkVisibility(), 'bars folded away').to.equal(false);
    anyway.querySelector('summary')!.click();
    expect(anyway.querySelector<HTMLElement>('.bars')!.checkVisibility()).to.equal(true);
    // The card stays inside the viewport with the verdict visible.
    const box = el.getBoundingClientRect();
    expect(box.right).to.be.at.most(innerWidth);
    expect(r.querySelector('[data-part="not-dermoscopic"]')!.getBoundingClientRect().bottom).to.be.at.most(innerHeight);
  });

  it('an ordinary photo of skin: the page card says so with the measured figures, result folded, and mirrors data-image-kind', async () => {
    await card('gate2', result(CLINICAL_RESULT));
    const el = host()!;
    expect(el.dataset.dermoscopic).to.equal('false');
    expect(el.dataset.imageKind).to.equal('clinical');
    const r = shadow();
    const notice = r.querySelector<HTMLElement>('[data-part="not-dermoscopic"]')!;
    expect(notice.textContent).to.contain('This looks like an ordinary photo of skin, not a dermoscopic image.');
    expect(notice.querySelector('[data-part="measured-on-photos"]')!.textContent).to.contain('87 %');
    const anyway = r.querySelector<HTMLDetailsElement>('details[data-part="show-anyway"]')!;
    expect(anyway.open).to.equal(false);
    expect(notice.getBoundingClientRect().bottom).to.be.at.most(innerHeight);
    // A dermoscopic result afterwards drops the kind's notice and mirrors the new kind.
    const passed = {
      ...CLINICAL_RESULT,
      dermoscopy: { ...CLINICAL_RESULT.dermoscopy!, score: 0.9, dermoscopic: true, kind: 'dermoscopic' as const },
    };
    await card('gate3', result(passed));
    expect(host()!.dataset.imageKind).to.equal('dermoscopic');
    expect(shadow().querySelector('[data-part="not-dermoscopic"]')).to.equal(null);
  });
});
