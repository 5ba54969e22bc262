// <dermlens-image-upload>: pick or drop a photo (JPEG, PNG, WebP, BMP, GIF or AVIF: core/image-check.ts). Checks the file's real format (its
// bytes, not its name) and size before handing it on; anything else gets a message saying why.
import { css, html, LitElement, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { checkImageBytes, UPLOAD_TYPES } from '../shared/image-bytes.ts';
import { errorMessage } from '../shared/messages.ts';

/** Detail of the 'dermlens-image' event (also fired by <dermlens-camera>). */
export interface PickedImage {
  bytes: Uint8Array;
  mime: string;
  /** File name, or "camera capture". */
  name: string;
  width: number;
  height: number;
}

/**
 * Detail of the cancelable 'dermlens-image-error' event, fired when a picked or dropped file is refused.
 * A parent that shows the message itself (the popup, in its result card) cancels the event; otherwise
 * the upload box shows it under itself.
 */
export interface RejectedImage {
  /** The file name, or '' when the problem is not one file (nothing or several dropped). */
  name: string;
  /** What the user reads, e.g. "notes.txt: This file is text/plain, not a JPEG, PNG or WebP image." */
  message: string;
}

/**
 * The upload box: a file picker that also takes a dropped file.
 *
 * @fires dermlens-image - a file passed the checks; detail: PickedImage.
 * @fires dermlens-image-error - a file was refused (cancelable: cancel it to show the message yourself); detail: RejectedImage.
 */
@customElement('dermlens-image-upload')
export class DermlensImageUpload extends LitElement {
  static override styles = css`
    :host { display: block; font: 13px/1.4 system-ui, sans-serif; color: #1b1f24; }
    .drop {
      display: block; border: 2px dashed #8c959f; border-radius: 10px; padding: 16px; text-align: center;
      cursor: pointer; background: #f6f8fa;
    }
    .drop.dragging { border-color: #0b5cad; background: #ddf4ff; }
    .drop:focus-within { outline: 2px solid #0b5cad; outline-offset: 2px; }
    input { position: absolute; width: 1px; height: 1px; opacity: 0; overflow: hidden; }
    .hint { display: block; color: #57606a; font-size: 12px; margin-top: 4px; }
    .error { color: #82071e; margin: 6px 0 0; }
  `;

  /** The last refusal, shown under the box when no parent cancelled 'dermlens-image-error'. */
  @state() private error = '';
  @state() private dragging = false;
  /** Disables the file picker (e.g. while a photo is being classified). */
  @property({ type: Boolean }) disabled = false;

  override render() {
    return html`
      <label class="drop ${this.dragging ? 'dragging' : ''}"
        @dragenter=${this.onDragOver} @dragover=${this.onDragOver} @dragleave=${this.onDragLeave} @drop=${this.onDrop}>
        <input type="file" accept=${UPLOAD_TYPES.join(',')} ?disabled=${this.disabled}
          aria-describedby="upload-hint" @change=${this.onChange}>
        <strong>Choose a photo</strong> or drop it here
        <span class="hint" id="upload-hint">JPEG, PNG, WebP, BMP or GIF. The photo stays on this computer.</span>
      </label>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
    `;
  }

  private onDragOver(event: DragEvent) {
    event.preventDefault();
    if (event.dataTransfer) event.dataTransfer.dropEffect = 'copy';
    this.dragging = true;
  }

  private onDragLeave() {
    this.dragging = false;
  }

  private onDrop(event: DragEvent) {
    event.preventDefault();
    this.dragging = false;
    const files = event.dataTransfer?.files;
    if (!files || files.length === 0) {
      this.reject('', 'Nothing to classify was dropped: drop an image file from your computer.');
      return;
    }
    if (files.length > 1) {
      this.reject('', `${files.length} files were dropped; drop one photo at a time.`);
      return;
    }
    void this.accept(files[0]);
  }

  private onChange(event: Event) {
    const input = event.target as HTMLInputElement;
    const file = input.files?.[0];
    if (file) void this.accept(file);
    input.value = ''; // picking the same file again must fire change again
  }

  /** Validates a file and fires 'dermlens-image' (or 'dermlens-image-error'); public so a file can be handed in directly (tests do). */
  async accept(file: File): Promise<void> {
    this.error = '';
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      const { type, width, height } = checkImageBytes(bytes, file.type, { allowed: UPLOAD_TYPES, source: 'file' });
      const detail: PickedImage = { bytes, mime: type, name: file.name, width, height };
      this.dispatchEvent(new CustomEvent<PickedImage>('dermlens-image', { detail, bubbles: true, composed: true }));
    } catch (error) {
      this.reject(file.name, `${file.name}: ${errorMessage(error)}`);
    }
  }

  /** Reports a refused file: to the parent if it handles it (cancels the event), else under the box. */
  private reject(name: string, message: string): void {
    const detail: RejectedImage = { name, message };
    const event = new CustomEvent<RejectedImage>('dermlens-image-error', { detail, bubbles: true, composed: true, cancelable: true });
    if (this.dispatchEvent(event)) this.error = message;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'dermlens-image-upload': DermlensImageUpload;
  }
}
