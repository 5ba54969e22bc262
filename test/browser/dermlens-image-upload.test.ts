/// <reference types="mocha" />
import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import '../../extension/components/dermlens-image-upload.ts';
import type { DermlensImageUpload, PickedImage, RejectedImage } from '../../extension/components/dermlens-image-upload.ts';
import { canvasPng } from './helpers.ts';
import { IMAGE_REFUSALS } from '../../core/image-check.ts';

function pick(el: DermlensImageUpload, file: File) {
  const input = el.shadowRoot!.querySelector<HTMLInputElement>('input[type=file]')!;
  const transfer = new DataTransfer();
  transfer.items.add(file);
  input.files = transfer.files;
  input.dispatchEvent(new Event('change', { bubbles: true }));
}

function drop(el: DermlensImageUpload, files: File[]) {
  const transfer = new DataTransfer();
  files.forEach((f) => transfer.items.add(f));
  el.shadowRoot!.querySelector('label')!.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
}

const GIF = new Uint8Array([0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 1, 0, 1, 0, 0, 0, 0, 0x3b]);
/** A TIFF header: a format the CLI and the extension both refuse by name. */
const TIFF = new Uint8Array([0x49, 0x49, 0x2a, 0, 8, 0, 0, 0]);

describe('<dermlens-image-upload>', () => {
  it('offers a labelled file input limited to the formats the CLI reads too', async () => {
    const el = await fixture<DermlensImageUpload>(html`<dermlens-image-upload></dermlens-image-upload>`);
    const input = el.shadowRoot!.querySelector<HTMLInputElement>('input[type=file]')!;
    expect(input.accept).to.equal('image/jpeg,image/png,image/webp,image/bmp,image/gif,image/avif');
    expect(input.closest('label')!.textContent).to.contain('Choose a photo');
    await expect(el).to.be.accessible();
  });

  it('fires dermlens-image with the bytes, real type and size of a picked PNG', async () => {
    const el = await fixture<DermlensImageUpload>(html`<dermlens-image-upload></dermlens-image-upload>`);
    const bytes = await canvasPng(120, 90);
    const event = oneEvent(el, 'dermlens-image');
    pick(el, new File([bytes as Uint8Array<ArrayBuffer>], 'lesion.png', { type: 'image/png' }));
    const { detail } = (await event) as CustomEvent<PickedImage>;
    expect(detail.name).to.equal('lesion.png');
    expect(detail.mime).to.equal('image/png');
    expect([detail.width, detail.height]).to.deep.equal([120, 90]);
    expect(Array.from(detail.bytes)).to.deep.equal(Array.from(bytes));
    expect(el.shadowRoot!.querySelector('[role="alert"]')).to.equal(null);
  });

  it('accepts a dropped file and trusts the bytes over a wrong name/type', async () => {
    const el = await fixture<DermlensImageUpload>(html`<dermlens-image-upload></dermlens-image-upload>`);
    const bytes = await canvasPng(40, 30);
    const event = oneEvent(el, 'dermlens-image');
    drop(el, [new File([bytes as Uint8Array<ArrayBuffer>], 'photo.jpg', { type: 'image/jpeg' })]);
    const { detail } = (await event) as CustomEvent<PickedImage>;
    expect(detail.mime).to.equal('image/png');
  });

  it('refuses other formats, non-images and several files with a clear message', async () => {
    const el = await fixture<DermlensImageUpload>(html`<dermlens-image-upload></dermlens-image-upload>`);
    let fired = 0;
    el.addEventListener('dermlens-image', () => fired++);
    const alertText = async () => {
      await el.updateComplete;
      return el.shadowRoot!.querySelector('[role="alert"]')?.textContent ?? '';
    };

    await el.accept(new File([TIFF], 'scan.tiff', { type: 'image/tiff' }));
    expect(await alertText()).to.equal(`scan.tiff: ${IMAGE_REFUSALS.otherFormat('tiff')}`);
    await el.accept(new File(['hello'], 'notes.txt', { type: 'text/plain' }));
    expect(await alertText()).to.equal(`notes.txt: ${IMAGE_REFUSALS.text()}`);
    const truncated = (await canvasPng(40, 30)).slice(0, 20);
    await el.accept(new File([truncated as Uint8Array<ArrayBuffer>], 'cut.png', { type: 'image/png' }));
    expect(await alertText()).to.equal(`cut.png: ${IMAGE_REFUSALS.truncated('image/png')}`);
    drop(el, [new File([GIF], 'a.gif'), new File([GIF], 'b.gif')]);
    expect(await alertText()).to.equal('2 files were dropped; drop one photo at a time.');
    expect(fired).to.equal(0);
  });

  it('reports a refused file with dermlens-image-error; a parent that cancels it shows the message instead', async () => {
    const el = await fixture<DermlensImageUpload>(html`<dermlens-image-upload></dermlens-image-upload>`);
    const refused: RejectedImage[] = [];
    el.addEventListener('dermlens-image-error', (event) => {
      refused.push((event as CustomEvent<RejectedImage>).detail);
      event.preventDefault();
    });
    await el.accept(new File([TIFF], 'scan.tiff', { type: 'image/tiff' }));
    drop(el, [new File([GIF], 'a.gif'), new File([GIF], 'b.gif')]);
    expect(refused).to.deep.equal([
      { name: 'scan.tiff', message: `scan.tiff: ${IMAGE_REFUSALS.otherFormat('tiff')}` },
      { name: '', message: '2 files were dropped; drop one photo at a time.' },
    ]);
    await el.updateComplete;
    expect(el.shadowRoot!.querySelector('[role="alert"]')).to.equal(null);
  });
});
