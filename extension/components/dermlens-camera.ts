// <dermlens-camera>: live camera preview and capture in the popup. A popup cannot show Chrome's camera
// prompt (it closes when the prompt takes focus), so when access has not been granted yet this view
// opens permission.html in a tab, where the prompt works, and explains what to do; blocked access and a
// missing camera get instructions. Upload always remains available next to it.
import { css, html, LitElement, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import {
  CAMERA_CONSTRAINTS,
  cameraMessages,
  cameraRefusal,
  queryCameraPermission,
  stopStream,
  type CameraFailure,
} from '../shared/camera.ts';
import { browser } from '../shared/browser.ts';
import { browserName } from '../shared/browser-name.ts';
import { errorMessage } from '../shared/messages.ts';
import type { PickedImage } from './dermlens-image-upload.ts';
import type { ClinicalPhotoFigures } from '../../core/model-card.ts';
import { cameraBeforeShot } from './camera-advice.ts';

export type CameraState = 'idle' | 'starting' | 'needs-permission' | 'live' | CameraFailure;

/**
 * Live camera preview with a "Take photo" button; explains what to do when the camera is not available.
 *
 * @fires dermlens-image - a photo was taken; detail: PickedImage (a lossless PNG of the frame).
 */
@customElement('dermlens-camera')
export class DermlensCamera extends LitElement {
  static override styles = css`
    :host { display: block; font: 13px/1.4 system-ui, sans-serif; color: #1b1f24; }
    video { display: block; width: 100%; max-height: 240px; background: #000; border-radius: 8px; }
    .buttons { display: flex; gap: 8px; margin-top: 6px; flex-wrap: wrap; }
    button {
      font: inherit; padding: 5px 10px; border-radius: 6px; border: 1px solid #8c959f; background: #f6f8fa; cursor: pointer;
    }
    button.primary { background: #0b5cad; border-color: #0b5cad; color: #fff; }
    button:focus-visible { outline: 2px solid #0b5cad; outline-offset: 2px; }
    .message { margin: 4px 0; }
    .problem { color: #82071e; }
    .camera-advice { margin: 0 0 6px; padding: 6px 8px; border-radius: 8px; background: #f6f8fa; border: 1px solid #d0d7de; }
  `;

  /** Where the camera view is; reflected as the `state` attribute. */
  @property({ type: String, reflect: true }) state: CameraState = 'idle';
  /** What DermLens measured on ordinary photos of skin (model-card.json), quoted before the shot; null when unknown. */
  @property({ attribute: false }) clinicalPhotos: ClinicalPhotoFigures | null = null;
  /** Extra text for the 'error' state. */
  @state() private detail = '';

  // Injectable for tests; the defaults are the real browser APIs.
  queryPermission: () => Promise<PermissionState | 'unknown'> = queryCameraPermission;
  getUserMedia: (constraints: MediaStreamConstraints) => Promise<MediaStream> = (c) =>
    navigator.mediaDevices
      ? navigator.mediaDevices.getUserMedia(c)
      : Promise.reject(new DOMException('This browser offers no camera access here.', 'NotFoundError'));
  openPermissionPage: () => void = () => {
    void browser.tabs.create({ url: browser.runtime.getURL('permission.html') });
  };

  private stream: MediaStream | null = null;

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.stop();
  }

  /** Checks the permission and starts the preview, or explains why it cannot. */
  async start(): Promise<void> {
    this.stop();
    this.state = 'starting';
    const permission = await this.queryPermission();
    if (permission === 'denied') {
      this.state = 'denied';
      return;
    }
    if (permission === 'prompt') {
      this.state = 'needs-permission';
      return;
    }
    try {
      this.stream = await this.getUserMedia(CAMERA_CONSTRAINTS);
      this.state = 'live';
      await this.updateComplete;
      const video = this.renderRoot.querySelector('video')!;
      video.srcObject = this.stream;
      await video.play();
    } catch (error) {
      this.stop();
      this.state = cameraRefusal(error, permission);
      this.detail = errorMessage(error);
    }
  }

  stop(): void {
    stopStream(this.stream);
    this.stream = null;
    const video = this.renderRoot?.querySelector('video');
    if (video) video.srcObject = null;
    if (this.state === 'live' || this.state === 'starting') this.state = 'idle';
  }

  /** Grabs the current frame as a lossless PNG and fires 'dermlens-image'. */
  async capture(): Promise<void> {
    const video = this.renderRoot.querySelector('video');
    if (!video || this.state !== 'live' || video.videoWidth === 0) return;
    const canvas = new OffscreenCanvas(video.videoWidth, video.videoHeight);
    const context = canvas.getContext('2d');
    if (!context) return;
    context.drawImage(video, 0, 0);
    const blob = await canvas.convertToBlob({ type: 'image/png' });
    const detail: PickedImage = {
      bytes: new Uint8Array(await blob.arrayBuffer()),
      mime: 'image/png',
      name: 'camera capture',
      width: canvas.width,
      height: canvas.height,
    };
    this.stop();
    this.dispatchEvent(new CustomEvent<PickedImage>('dermlens-image', { detail, bubbles: true, composed: true }));
  }

  override render() {
    switch (this.state) {
      case 'idle':
        return html`${cameraBeforeShot(this.clinicalPhotos)}
          <button class="primary" type="button" @click=${() => this.start()}>Start camera</button>`;
      case 'starting':
        return html`<p class="message" role="status">Starting the camera…</p>`;
      case 'needs-permission':
        return html`
          ${
            browserName() === 'Firefox'
              ? html`<p class="message" role="status">Firefox cannot ask for camera access in this popup.
            Open the permission page, tick <strong>Remember this decision</strong> and click <strong>Allow</strong> there,
            then open DermLens again.</p>`
              : html`<p class="message" role="status">Chrome can only ask for camera access in a normal tab, not in this popup.
            Open the permission page, click <strong>Allow</strong> there, then open DermLens again.</p>`
          }
          <div class="buttons">
            <button class="primary" type="button" @click=${() => this.openPermissionPage()}>Open camera permission page</button>
          </div>`;
      case 'live':
        return html`
          ${cameraBeforeShot(this.clinicalPhotos)}
          <video aria-label="Live camera preview" muted playsinline></video>
          <div class="buttons">
            <button class="primary" type="button" @click=${() => this.capture()}>Take photo</button>
            <button type="button" @click=${() => this.stop()}>Stop camera</button>
          </div>`;
      default:
        return html`
          <p class="message problem" role="alert">${cameraMessages()[this.state]}
            ${this.state === 'error' && this.detail ? html`(${this.detail})` : nothing}</p>
          <div class="buttons"><button type="button" @click=${() => this.start()}>Try again</button></div>`;
    }
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'dermlens-camera': DermlensCamera;
  }
}
