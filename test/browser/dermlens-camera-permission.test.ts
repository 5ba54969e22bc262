/// <reference types="mocha" />
import { expect, fixture, html } from '@open-wc/testing';
import '../../extension/components/dermlens-camera-permission.ts';
import type { DermlensCameraPermission } from '../../extension/components/dermlens-camera-permission.ts';
import { waitFor } from './helpers.ts';

async function page(getUserMedia: DermlensCameraPermission['getUserMedia']) {
  const el = await fixture<DermlensCameraPermission>(html`<dermlens-camera-permission></dermlens-camera-permission>`);
  el.getUserMedia = getUserMedia;
  el.closeAfterMs = 20;
  return el;
}

describe('<dermlens-camera-permission> (permission.html)', () => {
  it('asks, releases the camera at once, says what to do next and closes itself', async () => {
    let stream: MediaStream | null = null;
    const el = await page(async (c) => (stream = await navigator.mediaDevices.getUserMedia(c)));
    let closed = 0;
    el.closeWindow = () => {
      closed++;
    };
    expect(el.shadowRoot!.textContent).to.contain('Click Allow');
    await el.request();
    await el.updateComplete;
    expect(el.state).to.equal('granted');
    expect(stream!.getTracks().every((t) => t.readyState === 'ended')).to.equal(true);
    expect(el.shadowRoot!.querySelector('[role="status"]')!.textContent).to.contain('Camera access granted');
    await waitFor(() => closed === 1, 'the tab closes itself');
    await expect(el).to.be.accessible();
  });

  it('explains a refusal and a missing camera, with a retry', async () => {
    let attempts = 0;
    const el = await page(() => {
      attempts++;
      return Promise.reject(new DOMException('no', attempts === 1 ? 'NotAllowedError' : 'NotFoundError'));
    });
    el.closeWindow = () => {
      throw new Error('must not close');
    };
    await el.request();
    await el.updateComplete;
    expect(el.state).to.equal('denied');
    expect(el.shadowRoot!.querySelector('[role="alert"]')!.textContent).to.contain('blocked');
    el.shadowRoot!.querySelector('button')!.click();
    await waitFor(() => el.state === 'no-camera', 'second attempt');
    await el.updateComplete;
    expect(el.shadowRoot!.querySelector('[role="alert"]')!.textContent).to.contain('No camera was found');
  });
});
