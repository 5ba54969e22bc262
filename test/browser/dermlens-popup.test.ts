/// <reference types="mocha" />
import { fakeChrome } from './fake-chrome.ts';
import { expect, fixture, html } from '@open-wc/testing';
import '../../extension/components/dermlens-popup.ts';
import type { DermlensPopup } from '../../extension/components/dermlens-popup.ts';
import type { DermlensImageUpload } from '../../extension/components/dermlens-image-upload.ts';
import type { ClassificationResult, ImageBytes } from '../../extension/shared/messages.ts';
import { base64ToBytes } from '../../extension/shared/image-bytes.ts';
import { parseModelCard } from '../../core/model-card.ts';
import {
  canvasPng,
  CLINICAL_FIGURES,
  CLINICAL_RESULT,
  FLAGGED_RESULT,
  resultFrom,
  SAMPLE_HEATMAP,
  SAMPLE_PROBABILITIES,
  SAMPLE_RESULT,
  waitFor,
} from './helpers.ts';

const CARD = parseModelCard({
  name: 'Test model',
  version: 'compact-96 test',
  created: '2026-11-26',
  arch: 'compact',
  inputSize: 96,
  evaluation: null,
  untrained: true,
});

async function popup(classifyImage: (image: ImageBytes) => Promise<ClassificationResult>, card = CARD) {
  return fixture<DermlensPopup>(
    html`<dermlens-popup .classifyImage=${classifyImage} .loadModelCard=${() => Promise.resolve(card)}></dermlens-popup>`,
  );
}

/** A model card with the three-way gate's figures for ordinary photos of skin. */
const CARD_WITH_FIGURES = parseModelCard({ ...CARD, untrained: false, clinicalPhotos: CLINICAL_FIGURES });

/** Switches the popup to the camera and hands it a "captured" frame, as <dermlens-camera> does after "Take photo". */
async function shoot(el: DermlensPopup) {
  el.shadowRoot!.querySelectorAll<HTMLButtonElement>('.sources button')[1].click();
  await el.updateComplete;
  const camera = el.shadowRoot!.querySelector('dermlens-camera')!;
  const bytes = await canvasPng(160, 120);
  camera.dispatchEvent(
    new CustomEvent('dermlens-image', {
      detail: { bytes, mime: 'image/png', name: 'camera capture', width: 160, height: 120 },
      bubbles: true,
      composed: true,
    }),
  );
  await waitFor(() => el.dataset.state === 'result', 'result state');
  await el.updateComplete;
}

const afterShot = (el: DermlensPopup) => el.shadowRoot!.querySelector<HTMLElement>('[data-part="camera-after-shot"]');

function upload(el: DermlensPopup): DermlensImageUpload {
  return el.shadowRoot!.querySelector('dermlens-image-upload')!;
}

function pickFile(el: DermlensPopup, file: File) {
  const input = upload(el).shadowRoot!.querySelector<HTMLInputElement>('input[type=file]')!;
  const transfer = new DataTransfer();
  transfer.items.add(file);
  input.files = transfer.files;
  input.dispatchEvent(new Event('change', { bubbles: true }));
}

describe('<dermlens-popup>', () => {
  it('uploads a photo, previews it, classifies it and mirrors the result on the element', async () => {
    const received: ImageBytes[] = [];
    const el = await popup(async (image) => {
      received.push(image);
      return SAMPLE_RESULT;
    });
    expect(el.dataset.state).to.equal('idle');
    const bytes = await canvasPng(200, 150);
    pickFile(el, new File([bytes as Uint8Array<ArrayBuffer>], 'mole.png', { type: 'image/png' }));
    await waitFor(() => el.dataset.state === 'result', 'result state');
    expect(el.dataset.top).to.equal('nv');
    expect(el.dataset.probabilities!.split(',').map(Number)).to.deep.equal(SAMPLE_PROBABILITIES);
    expect(received).to.have.length(1);
    expect(received[0].mime).to.equal('image/png');
    expect(Array.from(base64ToBytes(received[0].base64))).to.deep.equal(Array.from(bytes));
    const root = el.shadowRoot!;
    const figure = root.querySelector('figure')!.querySelector('dermlens-heatmap-preview')!;
    await figure.updateComplete;
    const preview = figure.shadowRoot!.querySelector<HTMLImageElement>('img')!;
    expect(preview.src).to.match(/^blob:/);
    expect(preview.alt).to.equal('The photo being classified');
    expect(root.querySelector('figcaption .image-name')!.textContent).to.equal('mole.png (200x150)');
    const card = root.querySelector('dermlens-card')!;
    await card.updateComplete;
    expect(card.shadowRoot!.querySelector('.top-name')!.textContent).to.equal('Melanocytic nevus');
  });

  it('shows loading while the service worker works, then a readable error', async () => {
    let fail!: (error: Error) => void;
    const el = await popup(
      () =>
        new Promise((_, reject) => {
          fail = reject;
        }),
    );
    pickFile(el, new File([(await canvasPng(64, 48)) as Uint8Array<ArrayBuffer>], 'x.png', { type: 'image/png' }));
    await waitFor(() => el.dataset.state === 'loading', 'loading state');
    expect(el.dataset.top).to.equal(undefined);
    fail(new Error('The DermLens model did not answer within 15 s.'));
    await waitFor(() => el.dataset.state === 'error', 'error state');
    expect(el.dataset.error).to.equal('The DermLens model did not answer within 15 s.');
    const card = el.shadowRoot!.querySelector('dermlens-card')!;
    await card.updateComplete;
    expect(card.shadowRoot!.querySelector('[role="alert"]')!.textContent).to.contain('did not answer');
  });

  it('a refused file replaces the previous photo and result with a mirrored, announced error; the next photo works', async () => {
    const el = await popup(async () => SAMPLE_RESULT);
    const root = el.shadowRoot!;
    pickFile(el, new File([(await canvasPng(64, 48)) as Uint8Array<ArrayBuffer>], 'first.png', { type: 'image/png' }));
    await waitFor(() => el.dataset.state === 'result', 'first result');
    expect(root.querySelector('figure')).to.not.equal(null);

    pickFile(el, new File(['not an image\n'], 'notes.txt', { type: 'text/plain' }));
    await waitFor(() => el.dataset.state === 'error', 'error state mirrored on <dermlens-popup>');
    const message = 'notes.txt: This is a text file, not an image. DermLens reads photos saved as JPEG, PNG, WebP, BMP, GIF or AVIF.';
    expect(el.dataset.error).to.equal(message);
    expect(el.dataset.top, 'no stale top class').to.equal(undefined);
    expect(el.dataset.probabilities).to.equal(undefined);
    await el.updateComplete;
    expect(root.querySelector('figure'), 'the previous photo is gone').to.equal(null);
    const card = root.querySelector('dermlens-card')!;
    await card.updateComplete;
    expect(card.shadowRoot!.querySelector('.bars, .row, .top-name'), 'the previous result is gone').to.equal(null);
    expect(card.shadowRoot!.querySelector('[role="alert"]')!.textContent, 'announced as an alert').to.contain(message);
    const uploadBox = upload(el);
    await uploadBox.updateComplete;
    expect(uploadBox.shadowRoot!.querySelector('[role="alert"]'), 'said once, in the card, not also under the upload box').to.equal(null);

    const truncated = (await canvasPng(40, 30)).slice(0, 20);
    pickFile(el, new File([truncated as Uint8Array<ArrayBuffer>], 'cut.png', { type: 'image/png' }));
    await waitFor(
      () => el.dataset.error === 'cut.png: The PNG file is incomplete (it ends before the image data does); download or save it again.',
      'a second refusal replaces the first',
    );

    pickFile(el, new File([(await canvasPng(64, 48)) as Uint8Array<ArrayBuffer>], 'next.png', { type: 'image/png' }));
    await waitFor(() => el.dataset.state === 'result', 'the next good upload works');
    expect(el.dataset.error).to.equal(undefined);
    expect(el.dataset.top).to.equal('nv');
    await el.updateComplete;
    expect(root.querySelector('figcaption .image-name')!.textContent).to.equal('next.png (64x48)');
  });

  it('ignores the late answer for a photo that was replaced by a newer one', async () => {
    const pending: ((r: ClassificationResult) => void)[] = [];
    const el = await popup(
      () =>
        new Promise((resolve) => {
          pending.push(resolve);
        }),
    );
    const png = await canvasPng(64, 48);
    const first = el.classify({ bytes: png, mime: 'image/png', name: 'first.png', width: 64, height: 48 });
    const second = el.classify({ bytes: png, mime: 'image/png', name: 'second.png', width: 64, height: 48 });
    await waitFor(() => pending.length === 2, 'both requests sent');
    pending[1](resultFrom([0.1, 0.1, 0.1, 0.1, 0.4, 0.1, 0.1]));
    await second;
    pending[0](SAMPLE_RESULT);
    await first;
    expect(el.dataset.top).to.equal('mel');
    expect(el.shadowRoot!.querySelector('figcaption .image-name')!.textContent).to.equal('second.png (64x48)');
  });

  it('closing the result card goes back to the empty upload view', async () => {
    const el = await popup(async () => SAMPLE_RESULT);
    pickFile(el, new File([(await canvasPng(64, 48)) as Uint8Array<ArrayBuffer>], 'x.png', { type: 'image/png' }));
    await waitFor(() => el.dataset.state === 'result', 'result');
    const card = el.shadowRoot!.querySelector('dermlens-card')!;
    await card.updateComplete;
    card.shadowRoot!.querySelector<HTMLButtonElement>('button.close')!.click();
    await el.updateComplete;
    expect(el.dataset.state).to.equal('idle');
    expect(el.dataset.top).to.equal(undefined);
    expect(el.shadowRoot!.querySelector('figure')).to.equal(null);
    expect(el.shadowRoot!.querySelector('dermlens-card')).to.equal(null);
  });

  it('has keyboard-operable tabs for the lesion table and the model card', async () => {
    const el = await popup(async () => SAMPLE_RESULT);
    const root = el.shadowRoot!;
    const tabs = [...root.querySelectorAll<HTMLButtonElement>('[role="tab"]')];
    expect(tabs.map((t) => t.textContent)).to.deep.equal(['Classify', 'Lesion types', 'About the model']);
    expect(tabs.map((t) => t.tabIndex)).to.deep.equal([0, -1, -1]);
    tabs[0].focus();
    tabs[0].dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowRight', bubbles: true }));
    await el.updateComplete;
    expect(tabs[1].getAttribute('aria-selected')).to.equal('true');
    await waitFor(() => root.activeElement === tabs[1], 'focus moves to the selected tab');
    expect(root.querySelector<HTMLElement>('#panel-types')!.hidden).to.equal(false);
    expect(root.querySelector<HTMLElement>('#panel-classify')!.hidden).to.equal(true);
    const table = root.querySelector('dermlens-lesion-table')!;
    expect(table.shadowRoot!.querySelectorAll('tbody tr').length).to.equal(7);
    tabs[1].dispatchEvent(new KeyboardEvent('keydown', { key: 'End', bubbles: true }));
    await el.updateComplete;
    expect(tabs[2].getAttribute('aria-selected')).to.equal('true');
    const about = root.querySelector('dermlens-model-about')!;
    await about.updateComplete;
    expect(about.shadowRoot!.querySelector('h2')!.textContent).to.equal('Test model');
    tabs[2].dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowRight', bubbles: true }));
    await el.updateComplete;
    expect(tabs[0].getAttribute('aria-selected')).to.equal('true', 'wraps around');
    await expect(el).to.be.accessible();
  });

  it('switches to the camera view and back', async () => {
    const el = await popup(async () => SAMPLE_RESULT);
    const [uploadButton, cameraButton] = el.shadowRoot!.querySelectorAll<HTMLButtonElement>('.sources button');
    cameraButton.click();
    await el.updateComplete;
    expect(cameraButton.getAttribute('aria-pressed')).to.equal('true');
    expect(el.shadowRoot!.querySelector('dermlens-camera')).to.not.equal(null);
    expect(el.shadowRoot!.querySelector('dermlens-image-upload')).to.equal(null);
    uploadButton.click();
    await el.updateComplete;
    expect(el.shadowRoot!.querySelector('dermlens-image-upload')).to.not.equal(null);
  });

  it('by default sends the photo to the running offscreen model directly, with one request id', async () => {
    fakeChrome.sent.length = 0;
    fakeChrome.respond = (message) =>
      (message as { target: string }).target === 'offscreen' ? { ok: true, result: { ...SAMPLE_RESULT, top: 'mel' } } : undefined;
    const el = await fixture<DermlensPopup>(html`<dermlens-popup .loadModelCard=${() => Promise.resolve(CARD)}></dermlens-popup>`);
    pickFile(el, new File([(await canvasPng(32, 32)) as Uint8Array<ArrayBuffer>], 'x.png', { type: 'image/png' }));
    await waitFor(() => el.dataset.state === 'result', 'result');
    expect(el.dataset.top).to.equal('mel');
    const sent = fakeChrome.sent as { target: string; type: string; requestId: string; image: ImageBytes }[];
    expect(sent.map((m) => `${m.target}/${m.type}`)).to.deep.equal(['offscreen/classify-bytes']);
    expect(sent[0].requestId).to.match(/^[0-9a-f-]{36}$/);
    expect(sent[0].image.mime).to.equal('image/png');
  });

  it('goes through the service worker (which starts the model) when no offscreen document answers', async () => {
    fakeChrome.sent.length = 0;
    fakeChrome.respond = (message) => {
      const { target } = message as { target: string };
      if (target === 'offscreen') return Promise.reject(new Error('Could not establish connection. Receiving end does not exist.'));
      return { ok: true, result: { ...SAMPLE_RESULT, top: 'bcc' } };
    };
    const el = await fixture<DermlensPopup>(html`<dermlens-popup .loadModelCard=${() => Promise.resolve(CARD)}></dermlens-popup>`);
    pickFile(el, new File([(await canvasPng(32, 32)) as Uint8Array<ArrayBuffer>], 'x.png', { type: 'image/png' }));
    await waitFor(() => el.dataset.state === 'result', 'result');
    expect(el.dataset.top).to.equal('bcc');
    const sent = fakeChrome.sent as { target: string; type: string; requestId: string }[];
    expect(sent.map((m) => `${m.target}/${m.type}`)).to.deep.equal(['offscreen/classify-bytes', 'background/classify-image']);
    expect(sent[1].requestId, 'the same request id on both routes').to.equal(sent[0].requestId);
  });

  it('shows a real error from the model without trying another route', async () => {
    fakeChrome.sent.length = 0;
    fakeChrome.respond = () => ({ ok: false, error: 'The PNG image (32x32) is corrupt or truncated and could not be decoded.' });
    const el = await fixture<DermlensPopup>(html`<dermlens-popup .loadModelCard=${() => Promise.resolve(CARD)}></dermlens-popup>`);
    pickFile(el, new File([(await canvasPng(32, 32)) as Uint8Array<ArrayBuffer>], 'x.png', { type: 'image/png' }));
    await waitFor(() => el.dataset.state === 'error', 'error');
    expect(el.dataset.error).to.equal('The PNG image (32x32) is corrupt or truncated and could not be decoded.');
    expect(fakeChrome.sent).to.have.length(1);
  });

  it('"Where it looked" draws the heatmap over the preview photo, hottest where the map is, and hides it again', async () => {
    const el = await popup(async () => resultFrom(SAMPLE_PROBABILITIES, { heatmap: SAMPLE_HEATMAP, width: 600, height: 450 }));
    pickFile(el, new File([(await canvasPng(600, 450)) as Uint8Array<ArrayBuffer>], 'mole.png', { type: 'image/png' }));
    await waitFor(() => el.dataset.state === 'result', 'result');
    const card = el.shadowRoot!.querySelector('dermlens-card')!;
    await card.updateComplete;
    const preview = el.shadowRoot!.querySelector('dermlens-heatmap-preview')!;
    await preview.updateComplete;
    const canvas = preview.shadowRoot!.querySelector<HTMLCanvasElement>('canvas')!;
    expect(getComputedStyle(canvas).display, 'hidden until asked').to.equal('none');
    card.shadowRoot!.querySelector<HTMLButtonElement>('.heatmap-toggle')!.click();
    await el.updateComplete;
    await preview.updateComplete;
    expect(getComputedStyle(canvas).display).to.equal('block');
    const img = preview.shadowRoot!.querySelector('img')!;
    await img.decode();
    const [a, b] = [img.getBoundingClientRect(), canvas.getBoundingClientRect()];
    for (const k of ['left', 'top', 'width', 'height'] as const) expect(b[k], `canvas ${k} covers the 4:3 photo`).to.be.closeTo(a[k], 0.6);
    const pixels = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    const alphaAt = (fx: number, fy: number) =>
      pixels[(Math.floor(fy * canvas.height) * canvas.width + Math.floor(fx * canvas.width)) * 4 + 3];
    expect(alphaAt(0.1, 0.1), 'red where the map is high').to.be.above(150);
    expect(alphaAt(0.9, 0.9), 'clear where it is low').to.equal(0);
    card.shadowRoot!.querySelector<HTMLButtonElement>('.heatmap-toggle')!.click();
    await el.updateComplete;
    await preview.updateComplete;
    expect(getComputedStyle(canvas).display).to.equal('none');
  });

  it('an uploaded photo the dermoscopy gate flags: the popup result leads with it, bars folded, within 600 px', async () => {
    const el = await popup(async () => FLAGGED_RESULT);
    pickFile(el, new File([(await canvasPng(200, 150)) as Uint8Array<ArrayBuffer>], 'street.png', { type: 'image/png' }));
    await waitFor(() => el.dataset.state === 'result', 'result state');
    const card = el.shadowRoot!.querySelector('dermlens-card')!;
    await card.updateComplete;
    const r = card.shadowRoot!;
    expect(r.querySelector('[data-part="not-dermoscopic"]')!.textContent).to.contain(
      'This does not look like a dermoscopic image of a skin lesion.',
    );
    const anyway = r.querySelector<HTMLDetailsElement>('details[data-part="show-anyway"]')!;
    expect(anyway.open).to.equal(false);
    expect(anyway.querySelector<HTMLElement>('.bars')!.checkVisibility(), 'bars folded away').to.equal(false);
    expect(el.getBoundingClientRect().height, 'fits a 600 px popup with the bars folded').to.be.at.most(600);
    anyway.querySelector('summary')!.click();
    expect(anyway.querySelector<HTMLElement>('.bars')!.checkVisibility()).to.equal(true);
  });

  it('a camera photo named "clinical": the camera view passes on the model card figures, and after the shot says it again beside the folded result', async () => {
    const el = await popup(async () => CLINICAL_RESULT, CARD_WITH_FIGURES);
    await waitFor(() => el.modelCard !== null, 'model card');
    el.shadowRoot!.querySelectorAll<HTMLButtonElement>('.sources button')[1].click();
    await el.updateComplete;
    const camera = el.shadowRoot!.querySelector('dermlens-camera')!;
    expect(camera.clinicalPhotos).to.deep.equal(CLINICAL_FIGURES);
    await shoot(el);
    expect(el.dataset.imageKind).to.equal('clinical');
    const note = afterShot(el)!;
    expect(note.dataset.imageKind).to.equal('clinical');
    expect(note.textContent!.replace(/\s+/g, ' ')).to.contain(
      'Taken with the camera. DermLens reads images taken through a dermatoscope. Without one, expect this notice every time.',
    );
    const card = el.shadowRoot!.querySelector('dermlens-card')!;
    await card.updateComplete;
    expect(card.shadowRoot!.querySelector('[data-part="not-dermoscopic"]')!.textContent).to.contain(
      'This looks like an ordinary photo of skin, not a dermoscopic image.',
    );
    expect(card.shadowRoot!.querySelector<HTMLDetailsElement>('details[data-part="show-anyway"]')!.open).to.equal(false);
    expect(el.getBoundingClientRect().height, 'fits a 600 px popup with the bars folded').to.be.at.most(600);
    await expect(el).to.be.accessible();
  });

  it('a camera photo that passes as dermoscopic: after the shot, says not to rely on it without a dermatoscope, with the measured share', async () => {
    const passed = resultFrom(SAMPLE_PROBABILITIES, {
      dermoscopy: { score: 0.95, threshold: 0.31, dermoscopic: true, kind: 'dermoscopic', clinicalScore: 0.3, clinicalThreshold: 0.45 },
    });
    const el = await popup(async () => passed, CARD_WITH_FIGURES);
    await waitFor(() => el.modelCard !== null, 'model card');
    await shoot(el);
    expect(el.dataset.imageKind).to.equal('dermoscopic');
    expect(afterShot(el)!.textContent!.replace(/\s+/g, ' ')).to.contain(
      'DermLens reads images taken through a dermatoscope. If none was attached, do not rely on this answer: in testing, 7.0 % of ordinary phone photos still passed as dermoscopic.',
    );
  });

  it('an uploaded photo gets no camera note, and a non-skin camera photo keeps the "other" wording', async () => {
    const el = await popup(async () => FLAGGED_RESULT, CARD_WITH_FIGURES);
    pickFile(el, new File([(await canvasPng(200, 150)) as Uint8Array<ArrayBuffer>], 'street.png', { type: 'image/png' }));
    await waitFor(() => el.dataset.state === 'result', 'result state');
    await el.updateComplete;
    expect(afterShot(el)).to.equal(null);
    expect(el.dataset.imageKind).to.equal('other');
    await shoot(el);
    const card = el.shadowRoot!.querySelector('dermlens-card')!;
    await card.updateComplete;
    expect(afterShot(el)!.dataset.imageKind).to.equal('other');
    expect(card.shadowRoot!.querySelector('[data-part="not-dermoscopic"]')!.textContent).to.contain(
      'This does not look like a dermoscopic image of a skin lesion.',
    );
  });
});
