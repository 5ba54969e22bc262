// <dermlens-popup>: the toolbar popup. Three tabs: classify a photo (upload / drag-and-drop or camera,
// preview, result card), the table of lesion types, and "about the model". The result is mirrored as
// data-* attributes on the element (data-state, data-top, data-probabilities, data-error) for tests.
import { css, html, LitElement, nothing, type PropertyValues } from 'lit';
import { customElement, state } from 'lit/decorators.js';
import { classifyImage, loadModelCard } from '../shared/client.ts';
import { bytesToBase64 } from '../shared/image-bytes.ts';
import { errorMessage, type ClassificationResult, type ImageBytes } from '../shared/messages.ts';
import type { ModelCard } from '../../core/model-card.ts';
import { probabilitiesInClassOrder } from '../shared/result.ts';
import type { CardViewState } from './card-view.ts';
import type { PickedImage, RejectedImage } from './dermlens-image-upload.ts';
import { cameraAfterShot } from './camera-advice.ts';
import './dermlens-camera.ts';
import './dermlens-heatmap-preview.ts';
import './dermlens-image-upload.ts';
import './dermlens-lesion-table.ts';
import './dermlens-model-about.ts';
import './dermlens-card.ts';

type View = 'classify' | 'types' | 'about';
type Source = 'upload' | 'camera';

const VIEWS: { id: View; label: string }[] = [
  { id: 'classify', label: 'Classify' },
  { id: 'types', label: 'Lesion types' },
  { id: 'about', label: 'About the model' },
];

/** The whole popup: tabs, the image source (upload or camera), the photo and its result card. */
@customElement('dermlens-popup')
export class DermlensPopup extends LitElement {
  // Chrome caps a popup at 600 px: with a result, the photo shrinks to a thumbnail beside the "check
  // another photo" button and the upload area is hidden, so verdict, bars and disclaimer fit in it.
  static override styles = css`
    :host { display: block; width: 380px; font: 13px/1.4 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: #1b1f24; }
    header { display: flex; align-items: flex-end; justify-content: space-between; gap: 6px; padding: 8px 8px 0 10px; border-bottom: 1px solid #d0d7de; }
    h1 { margin: 0 0 6px; font-size: 15px; color: #0b5cad; }
    [role='tablist'] { display: flex; gap: 2px; }
    [role='tab'] {
      font: inherit; font-size: 12px; border: 1px solid transparent; border-bottom: none; background: none; padding: 4px 6px;
      border-radius: 6px 6px 0 0; cursor: pointer; color: #57606a; white-space: nowrap;
    }
    [role='tab'][aria-selected='true'] { color: #1b1f24; border-color: #d0d7de; background: #fff; margin-bottom: -1px; font-weight: 600; }
    [role='tab']:focus-visible { outline: 2px solid #0b5cad; outline-offset: -2px; }
    [role='tabpanel'] { padding: 8px 10px 10px; }
    .tagline { margin: 0 0 8px; color: #57606a; font-size: 12px; }
    .camera-advice { margin: 0 0 6px; padding: 6px 8px; border-radius: 8px; background: #f6f8fa; border: 1px solid #d0d7de; font-size: 12px; }
    .sources { display: flex; gap: 6px; margin-bottom: 8px; }
    .sources button, .again {
      font: inherit; padding: 5px; border: 1px solid #8c959f; border-radius: 6px; background: #f6f8fa; cursor: pointer;
    }
    .sources button { flex: 1; }
    .sources button[aria-pressed='true'] { background: #0b5cad; border-color: #0b5cad; color: #fff; }
    .sources button:focus-visible, .again:focus-visible { outline: 2px solid #0b5cad; outline-offset: 2px; }
    [hidden] { display: none !important; }
    figure { display: flex; align-items: center; gap: 10px; margin: 0 0 6px; }
    figcaption { color: #57606a; font-size: 12px; overflow-wrap: anywhere; flex: 1; }
    figcaption .again { display: block; margin-top: 6px; }
    dermlens-heatmap-preview { --preview-max-height: 84px; flex: none; max-width: 60%; }
  `;

  @state() view: View = 'classify';
  @state() source: Source = 'upload';
  @state() status: CardViewState = 'idle';
  @state() result: ClassificationResult | null = null;
  @state() error = '';
  @state() previewUrl = '';
  @state() imageName = '';
  @state() modelCard: ModelCard | null = null;
  @state() modelCardError = '';
  @state() heatmapShown = false;
  /** Whether the photo on show came from the camera (the result then gets the camera's after-shot note). */
  @state() fromCamera = false;

  // The real service-worker client and packaged model card; tests replace them before connecting.
  classifyImage: (image: ImageBytes) => Promise<ClassificationResult> = classifyImage;
  loadModelCard: () => Promise<ModelCard> = loadModelCard;

  /** Ignores answers for an image the user has already replaced. */
  private generation = 0;

  override connectedCallback(): void {
    super.connectedCallback();
    this.loadModelCard().then(
      (card) => {
        this.modelCard = card;
      },
      (error) => {
        this.modelCardError = errorMessage(error);
      },
    );
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    if (this.previewUrl) URL.revokeObjectURL(this.previewUrl);
  }

  /** Classifies a picked or captured image; the upload and camera views call this through 'dermlens-image'. */
  async classify(picked: PickedImage): Promise<void> {
    const generation = ++this.generation;
    if (this.previewUrl) URL.revokeObjectURL(this.previewUrl);
    this.previewUrl = URL.createObjectURL(new Blob([picked.bytes as Uint8Array<ArrayBuffer>], { type: picked.mime }));
    this.imageName = `${picked.name} (${picked.width}x${picked.height})`;
    this.status = 'loading';
    this.result = null;
    this.error = '';
    this.heatmapShown = false;
    this.fromCamera = this.source === 'camera';
    try {
      const result = await this.classifyImage({ base64: bytesToBase64(picked.bytes), mime: picked.mime });
      if (generation !== this.generation) return;
      this.result = result;
      this.status = 'result';
    } catch (error) {
      if (generation !== this.generation) return;
      this.error = errorMessage(error);
      this.status = 'error';
    }
    await this.updateComplete;
    this.renderRoot.querySelector('dermlens-card')?.focus();
  }

  /** Back to an empty classify view (the card's close button). */
  reset(): void {
    this.clearImage();
    this.status = 'idle';
    this.result = null;
    this.error = '';
  }

  /**
   * A refused file (wrong type, damaged header): the previous photo and result go, so the error is not
   * shown next to an old answer, and the error takes the result card's place (role=alert, and mirrored
   * as data-state="error" + data-error like any other error).
   */
  showRejected(message: string): void {
    this.clearImage();
    this.result = null;
    this.error = message;
    this.status = 'error';
  }

  /** Drops the previewed photo, and any answer still on its way for it. */
  private clearImage(): void {
    this.generation++;
    if (this.previewUrl) URL.revokeObjectURL(this.previewUrl);
    this.previewUrl = '';
    this.imageName = '';
  }

  protected override updated(changed: PropertyValues<this>): void {
    if (changed.has('status') || changed.has('result') || changed.has('error')) this.mirrorState();
  }

  /** The contract's test hook: the visible result as attributes on <dermlens-popup>. */
  private mirrorState(): void {
    this.dataset.state = this.status;
    if (this.status === 'result' && this.result) {
      this.dataset.top = this.result.top;
      this.dataset.probabilities = probabilitiesInClassOrder(this.result).join(',');
      if (this.result.dermoscopy) this.dataset.imageKind = this.result.dermoscopy.kind;
      else delete this.dataset.imageKind;
    } else {
      delete this.dataset.top;
      delete this.dataset.probabilities;
      delete this.dataset.imageKind;
    }
    if (this.status === 'error') this.dataset.error = this.error;
    else delete this.dataset.error;
  }

  private selectView(view: View, focus = false): void {
    this.view = view;
    if (focus) void this.updateComplete.then(() => this.renderRoot.querySelector<HTMLElement>(`#tab-${view}`)?.focus());
  }

  /** Arrow keys, Home and End move between tabs (WAI-ARIA tabs pattern). */
  private onTabKey(event: KeyboardEvent): void {
    const index = VIEWS.findIndex((v) => v.id === this.view);
    const next = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: VIEWS.length - 1 }[event.key];
    if (next === undefined) return;
    event.preventDefault();
    this.selectView(VIEWS[(next + VIEWS.length) % VIEWS.length].id, true);
  }

  private onImage(event: CustomEvent<PickedImage>): void {
    event.stopPropagation();
    void this.classify(event.detail);
  }

  private onRejected(event: CustomEvent<RejectedImage>): void {
    event.stopPropagation();
    event.preventDefault(); // shown here, in the result card, not also under the upload box
    this.showRejected(event.detail.message);
  }

  override render() {
    return html`
      <header>
        <h1>DermLens</h1>
        <div role="tablist" aria-label="DermLens sections" @keydown=${this.onTabKey}>
          ${VIEWS.map(
            (v) => html`
            <button role="tab" id="tab-${v.id}" aria-controls="panel-${v.id}" aria-selected=${this.view === v.id ? 'true' : 'false'}
              tabindex=${this.view === v.id ? '0' : '-1'} @click=${() => this.selectView(v.id)}>${v.label}</button>`,
          )}
        </div>
      </header>
      <div role="tabpanel" id="panel-classify" aria-labelledby="tab-classify" ?hidden=${this.view !== 'classify'}>
        ${this.renderClassify()}
      </div>
      <div role="tabpanel" id="panel-types" aria-labelledby="tab-types" ?hidden=${this.view !== 'types'}>
        <dermlens-lesion-table></dermlens-lesion-table>
      </div>
      <div role="tabpanel" id="panel-about" aria-labelledby="tab-about" ?hidden=${this.view !== 'about'}>
        <dermlens-model-about .card=${this.modelCard} .error=${this.modelCardError}></dermlens-model-about>
      </div>
    `;
  }

  private renderClassify() {
    // With a photo (loading or result), the way in folds away behind "Check another photo".
    const picking = !this.previewUrl;
    return html`
      <div ?hidden=${!picking}>
        <p class="tagline">Check a photo of a skin spot. It stays on this device.</p>
        <div class="sources" role="group" aria-label="Image source">
          <button type="button" aria-pressed=${this.source === 'upload' ? 'true' : 'false'} @click=${() => {
            this.source = 'upload';
          }}>Upload a photo</button>
          <button type="button" aria-pressed=${this.source === 'camera' ? 'true' : 'false'} @click=${() => {
            this.source = 'camera';
          }}>Camera</button>
        </div>
      </div>
      <div @dermlens-image=${this.onImage} @dermlens-image-error=${this.onRejected} ?hidden=${!picking}>
        ${
          this.source === 'upload'
            ? html`<dermlens-image-upload ?disabled=${this.status === 'loading'}></dermlens-image-upload>`
            : html`<dermlens-camera .clinicalPhotos=${this.modelCard?.clinicalPhotos ?? null}></dermlens-camera>`
        }
      </div>
      ${
        this.previewUrl
          ? html`
        <figure>
          <dermlens-heatmap-preview .src=${this.previewUrl} alt="The photo being classified" .heatmap=${this.result?.heatmap ?? null}
            .imageWidth=${this.result?.width ?? 0} .imageHeight=${this.result?.height ?? 0} ?shown=${this.heatmapShown}></dermlens-heatmap-preview>
          <figcaption><span class="image-name">${this.imageName}</span>
            <button class="again" type="button" ?disabled=${this.status === 'loading'} @click=${() => this.reset()}>Check another photo</button>
          </figcaption>
        </figure>`
          : nothing
      }
      ${this.fromCamera && this.status === 'result' && this.result ? cameraAfterShot(this.result, this.modelCard?.clinicalPhotos) : nothing}
      ${
        this.status !== 'idle'
          ? html`
        <dermlens-card flat .state=${this.status} .result=${this.result} .error=${this.error} closable ?heatmap-shown=${this.heatmapShown}
          @dermlens-close=${() => this.reset()} @dermlens-heatmap=${(e: CustomEvent<boolean>) => {
            this.heatmapShown = e.detail;
          }}></dermlens-card>`
          : nothing
      }
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'dermlens-popup': DermlensPopup;
  }
}
