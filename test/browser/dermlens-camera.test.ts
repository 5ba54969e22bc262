/// <reference types="mocha" />
import './fake-chrome.ts';
import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import '../../extension/components/dermlens-camera.ts';
import type { DermlensCamera } from '../../extension/components/dermlens-camera.ts';
import type { PickedImage } from '../../extension/components/dermlens-image-upload.ts';
import { CAMERA_MESSAGES } from '../../extension/shared/camera.ts';
import { sniffImageType } from '../../extension/shared/image-bytes.ts';
import { CLINICAL_FIGURES, waitFor } from './helpers.ts';

const reject = (name: string) => () => Promise.reject(new DOMException('fake', name));

async function camera(permission: PermissionState | 'unknown', getUserMedia?: DermlensCamera['getUserMedia']) {
  const el = await fixture<DermlensCamera>(html`<dermlens-camera></dermlens-camera>`);
  el.queryPermission = () => Promise.resolve(permission);
  if (getUserMedia) el.getUserMedia = getUserMedia;
  return el;
}

const text = (el: DermlensCamera) => el.shadowRoot!.textContent!.replace(/\s+/g, ' ');

describe('<dermlens-camera>', () => {
  it('starts with a Start camera button', async () => {
    const el = await fixture<DermlensCamera>(html`<dermlens-camera></dermlens-camera>`);
    expect(el.state).to.equal('idle');
    expect(el.shadowRoot!.querySelector('button')!.textContent).to.equal('Start camera');
    await expect(el).to.be.accessible();
  });

  it('sends the user to the permission page when access was never granted (a popup cannot prompt)', async () => {
    let gumCalls = 0;
    const el = await camera('prompt', () => {
      gumCalls++;
      return Promise.reject(new Error('must not be called'));
    });
    let opened = 0;
    el.openPermissionPage = () => {
      opened++;
    };
    await el.start();
    await el.updateComplete;
    expect(el.state).to.equal('needs-permission');
    expect(gumCalls).to.equal(0);
    expect(text(el)).to.contain('Open the permission page');
    el.shadowRoot!.querySelector<HTMLButtonElement>('button.primary')!.click();
    expect(opened).to.equal(1);
  });

  it('opens permission.html in a tab by default', async () => {
    const { fakeChrome } = await import('./fake-chrome.ts');
    const el = await camera('prompt');
    await el.start();
    el.openPermissionPage();
    expect(fakeChrome.createdTabs.at(-1)).to.equal(`${location.origin}/permission.html`);
  });

  it('explains how to unblock a denied camera, and a missing or busy one', async () => {
    const denied = await camera('denied');
    await denied.start();
    await denied.updateComplete;
    expect(denied.state).to.equal('denied');
    expect(denied.shadowRoot!.querySelector('[role="alert"]')!.textContent).to.contain('chrome://settings/content/camera');

    const cases: [string, string][] = [
      ['NotFoundError', 'no-camera'],
      ['NotAllowedError', 'denied'],
      ['NotReadableError', 'busy'],
      ['TypeError', 'error'],
    ];
    for (const [errorName, state] of cases) {
      const el = await camera('granted', reject(errorName));
      await el.start();
      await el.updateComplete;
      expect(el.state, errorName).to.equal(state);
      expect(text(el)).to.contain(CAMERA_MESSAGES[state as keyof typeof CAMERA_MESSAGES].slice(0, 40));
      expect(el.shadowRoot!.querySelector('button')!.textContent).to.equal('Try again');
    }
  });

  it('shows the live (fake-device) camera and captures a lossless PNG frame, then releases the camera', async () => {
    let stream: MediaStream | null = null;
    const el = await camera('unknown', async (constraints) => (stream = await navigator.mediaDevices.getUserMedia(constraints)));
    await el.start();
    expect(el.state).to.equal('live');
    const video = el.shadowRoot!.querySelector('video')!;
    expect(video.getAttribute('aria-label')).to.equal('Live camera preview');
    await el.updateComplete;
    const advice = el.shadowRoot!.querySelector('[data-part="camera-before-shot"]')!;
    expect(advice.nextElementSibling, 'the dermatoscope advice sits above the live preview').to.equal(video);
    await waitFor(() => video.videoWidth > 0, 'video frames');
    const frameSize = [video.videoWidth, video.videoHeight];
    const event = oneEvent(el, 'dermlens-image');
    await el.capture();
    const { detail } = (await event) as CustomEvent<PickedImage>;
    expect(detail.mime).to.equal('image/png');
    expect(sniffImageType(detail.bytes)).to.equal('image/png');
    expect([detail.width, detail.height]).to.deep.equal(frameSize);
    expect(stream!.getVideoTracks()[0].readyState).to.equal('ended');
    expect(el.state).to.equal('idle');
  });

  it('before the shot: DermLens reads images taken through a dermatoscope, and what to expect without one (with the measured share)', async () => {
    const el = await fixture<DermlensCamera>(html`<dermlens-camera .clinicalPhotos=${CLINICAL_FIGURES}></dermlens-camera>`);
    const advice = el.shadowRoot!.querySelector<HTMLElement>('[data-part="camera-before-shot"]')!;
    const said = advice.textContent!.replace(/\s+/g, ' ');
    expect(said).to.contain('DermLens reads images taken through a dermatoscope');
    expect(said).to.contain('there are attachments for phones and webcams');
    expect(said).to.contain('"This looks like an ordinary photo of skin"');
    expect(said).to.contain('as it did for 87 % of the phone photos it was tested on.');
    await expect(el).to.be.accessible();
    // A model card without the figures: the same advice, no number.
    const bare = await fixture<DermlensCamera>(html`<dermlens-camera></dermlens-camera>`);
    const plain = bare.shadowRoot!.querySelector('[data-part="camera-before-shot"]')!.textContent!;
    expect(plain).to.contain('DermLens reads images taken through a dermatoscope');
    expect(plain).not.to.match(/\d %/);
  });

  it('stops the camera when removed from the page', async () => {
    let stream: MediaStream | null = null;
    const el = await camera('granted', async (c) => (stream = await navigator.mediaDevices.getUserMedia(c)));
    await el.start();
    el.remove();
    expect(stream!.getVideoTracks()[0].readyState).to.equal('ended');
  });
});
