// <dermlens-popup>: the toolbar popup. Three tabs: classify a photo (upload / drag-and-drop or camera,
// preview, result card), the table of lesion types, and "about the model". The result is mirrored as
// data-* attributes on the element (data-state, data-top, data-probabilities, data-error) for tests.
import { css, html, LitElement, nothing, type PropertyValues } from 'lit';
import { classifyImage, loadModelCard } from '../shared/client.ts';
import { bytesToBase64 } from '../shared/image-bytes.ts';
import { errorMessage, type ClassificationResult, type ImageBytes } from '../shared/messages.ts';
import type { ModelCard } from '../shared/model-card.ts';
import { probabilitiesInClassOrder } from '../shared/result.ts';
import type { CardViewState } from './card-view.ts';
import type { PickedImage, RejectedImage } from './image-upload.ts';
import './camera-capture.ts';
import './image-upload.ts';
import './lesion-table.ts';
import './model-about.ts';
import './result-card.ts';

type View = 'classify' | 'types' | 'about';
type Source = 'upload' | 'camera';

const VIEWS: { id: View; label: string }[] = [
  { id: 'classify', label: 'Classify' },
  { id: 'types', label: 'Lesion types' },
  { id: 'about', label: 'About the model' },
];

export class DermlensPopup extends LitElement {
  static override properties = {
    view: { state: true },
    source: { state: true },
    status: { state: true },
    result: { state: true },
    error: { state: true },
    previewUrl: { state: true },
    imageName: { state: true },
    modelCard: { state: true },
    modelCardError: { state: true },
  };

  static override styles = css`
    :host { display: block; width: 380px; font: 13px/1.4 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: #1b1f24; }
    header { display: flex; align-items: baseline; gap: 8px; padding: 10px 12px 0; }
    h1 { margin: 0; font-size: 16px; color: #0b5cad; }
    .tagline { color: #57606a; font-size: 12px; }
    [role='tablist'] { display: flex; gap: 2px; padding: 8px 12px 0; border-bottom: 1px solid #d0d7de; }
    [role='tab'] {
      font: inherit; border: 1px solid transparent; border-bottom: none; background: none; padding: 5px 9px;
      border-radius: 6px 6px 0 0; cursor: pointer; color: #57606a;
    }
    [role='tab'][aria-selected='true'] { color: #1b1f24; border-color: #d0d7de; background: #fff; margin-bottom: -1px; font-weight: 600; }
    [role='tab']:focus-visible { outline: 2px solid #0b5cad; outline-offset: -2px; }
    [role='tabpanel'] { padding: 10px 12px 12px; }
    .sources { display: flex; gap: 6px; margin-bottom: 8px; }
    .sources button {
      font: inherit; flex: 1; padding: 5px; border: 1px solid #8c959f; border-radius: 6px; background: #f6f8fa; cursor: pointer;
    }
    .sources button[aria-pressed='true'] { background: #0b5cad; border-color: #0b5cad; color: #fff; }
    .sources button:focus-visible { outline: 2px solid #0b5cad; outline-offset: 2px; }
    figure { margin: 10px 0 6px; }
    figure img { display: block; max-width: 100%; max-height: 180px; margin: 0 auto; border-radius: 6px; }
    figcaption { text-align: center; color: #57606a; font-size: 12px; overflow-wrap: anywhere; }
    dermlens-card { margin-top: 6px; }
  `;

  view: View = 'classify';
  source: Source = 'upload';
  status: CardViewState = 'idle';
  result: ClassificationResult | null = null;
  error = '';
  previewUrl = '';
  imageName = '';
  modelCard: ModelCard | null = null;
  modelCardError = '';

  // The real service-worker client and packaged model card; tests replace them before connecting.
  classifyImage: (image: ImageBytes) => Promise<ClassificationResult> = classifyImage;
  loadModelCard: () => Promise<ModelCard> = loadModelCard;

  /** Ignores answers for an image the user has already replaced. */
  private generation = 0;

  override connectedCallback(): void {
    super.connectedCallback();
    this.loadModelCard().then((card) => { this.modelCard = card; }, (error) => { this.modelCardError = errorMessage(error); });
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
    } else {
      delete this.dataset.top;
      delete this.dataset.probabilities;
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
      <header><h1>DermLens</h1><span class="tagline">skin-lesion classifier, on this device</span></header>
      <div role="tablist" aria-label="DermLens sections" @keydown=${this.onTabKey}>
        ${VIEWS.map((v) => html`
          <button role="tab" id="tab-${v.id}" aria-controls="panel-${v.id}" aria-selected=${this.view === v.id ? 'true' : 'false'}
            tabindex=${this.view === v.id ? '0' : '-1'} @click=${() => this.selectView(v.id)}>${v.label}</button>`)}
      </div>
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
    return html`
      <div class="sources" role="group" aria-label="Image source">
        <button type="button" aria-pressed=${this.source === 'upload' ? 'true' : 'false'} @click=${() => { this.source = 'upload'; }}>Upload a photo</button>
        <button type="button" aria-pressed=${this.source === 'camera' ? 'true' : 'false'} @click=${() => { this.source = 'camera'; }}>Camera</button>
      </div>
      <div @dermlens-image=${this.onImage} @dermlens-image-error=${this.onRejected}>
        ${this.source === 'upload'
          ? html`<dermlens-image-upload ?disabled=${this.status === 'loading'}></dermlens-image-upload>`
          : html`<dermlens-camera></dermlens-camera>`}
      </div>
      ${this.previewUrl ? html`
        <figure>
          <img src=${this.previewUrl} alt="The photo being classified">
          <figcaption>${this.imageName}</figcaption>
        </figure>` : nothing}
      ${this.status !== 'idle' ? html`
        <dermlens-card .state=${this.status} .result=${this.result} .error=${this.error} closable
          @dermlens-close=${() => this.reset()}></dermlens-card>` : nothing}
    `;
  }
}

if (!customElements.get('dermlens-popup')) customElements.define('dermlens-popup', DermlensPopup);

declare global {
  interface HTMLElementTagNameMap { 'dermlens-popup': DermlensPopup }
}
