// <dermlens-camera-permission>: the body of permission.html, opened once in a normal tab because the
// popup cannot show Chrome's camera prompt. Asks for the camera as soon as it opens, releases it at
// once (nothing is recorded), and says what to do next for each outcome.
import { css, html, LitElement } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { cameraMessages, classifyCameraError, stopStream, type CameraFailure } from '../shared/camera.ts';
import { browserName } from '../shared/browser-name.ts';

export type PermissionPageState = 'asking' | 'granted' | CameraFailure;

/** The permission page's content: asks for the camera, then says what happened and what to do next. */
@customElement('dermlens-camera-permission')
export class DermlensCameraPermission extends LitElement {
  static override styles = css`
    :host { display: block; max-width: 560px; margin: 40px auto; padding: 0 16px; font: 15px/1.5 system-ui, sans-serif; color: #1b1f24; }
    h1 { font-size: 20px; color: #0b5cad; }
    .problem { color: #82071e; }
    button { font: inherit; padding: 6px 12px; border-radius: 6px; border: 1px solid #0b5cad; background: #0b5cad; color: #fff; cursor: pointer; }
    button:focus-visible { outline: 2px solid #0b5cad; outline-offset: 2px; }
  `;

  /** The outcome so far; reflected as the `state` attribute. */
  @property({ type: String, reflect: true }) state: PermissionPageState = 'asking';
  /** Delay before the tab closes itself after access was granted (0 = stay open). */
  closeAfterMs = 2500;
  getUserMedia: (constraints: MediaStreamConstraints) => Promise<MediaStream> = (c) => navigator.mediaDevices.getUserMedia(c);
  closeWindow: () => void = () => window.close();

  /** Asks for the camera (permission.ts calls this as soon as the page opens). */
  async request(): Promise<void> {
    this.state = 'asking';
    try {
      stopStream(await this.getUserMedia({ video: true, audio: false }));
      this.state = 'granted';
      if (this.closeAfterMs > 0) setTimeout(() => this.closeWindow(), this.closeAfterMs);
    } catch (error) {
      this.state = classifyCameraError(error);
    }
  }

  override render() {
    return html`
      <h1>DermLens camera access</h1>
      ${
        this.state === 'asking'
          ? html`<p role="status">${
              browserName() === 'Firefox'
                ? html`Firefox is asking whether DermLens may use your camera. Tick <strong>Remember this decision</strong>
        and click <strong>Allow</strong>: the popup can only use a camera access that Firefox remembers.`
                : html`Chrome is asking whether DermLens may use your camera.
        Click <strong>Allow</strong> (choose "Allow on every visit" so you are not asked again).`
            }
        DermLens only uses the camera while you take a photo in its popup, and the photo never leaves your computer.</p>`
          : ''
      }
      ${
        this.state === 'granted'
          ? html`<p role="status">Camera access granted. This tab closes by itself;
        open DermLens from the toolbar and choose <strong>Camera</strong>.</p>`
          : ''
      }
      ${
        this.state !== 'asking' && this.state !== 'granted'
          ? html`
        <p class="problem" role="alert">${cameraMessages()[this.state]}</p>
        <button type="button" @click=${() => this.request()}>Try again</button>`
          : ''
      }
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'dermlens-camera-permission': DermlensCameraPermission;
  }
}
