// <dermlens-vscode-result>: the card webview's page. The classified file with "where it looked" over
// it, and the browser extension's own result card (extension/components/, one definition), fed by the
// extension host's messages. Like the popup, it mirrors its state on itself for tests: data-state,
// data-top, data-probabilities (CLASS_CODES order) and data-error.
import { css, html, LitElement, nothing } from 'lit';
import { customElement, state } from 'lit/decorators.js';
import '../../extension/components/dermlens-card.ts';
import '../../extension/components/dermlens-heatmap-preview.ts';
import type { CardViewState } from '../../extension/components/card-view.ts';
import { probabilitiesInClassOrder } from '../../extension/shared/result.ts';
import type { CardMessage } from '../src/webview-messages.ts';

declare function acquireVsCodeApi(): { postMessage(message: { type: 'ready' }): void };

@customElement('dermlens-vscode-result')
export class DermlensVscodeResult extends LitElement {
  static override styles = css`
    :host { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; padding: 12px; }
    figure { margin: 0; flex: 0 1 auto; max-width: 50%; min-width: 160px; }
    figcaption { font: 12px/1.4 system-ui, sans-serif; color: var(--vscode-descriptionForeground, #57606a); margin-top: 4px; overflow-wrap: anywhere; }
    dermlens-heatmap-preview { --preview-max-height: 320px; }
    dermlens-card { flex: 0 1 380px; min-width: 260px; }
  `;

  @state() private message: CardMessage | null = null;
  @state() private heatmapShown = false;

  override connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener('message', this.onMessage);
    acquireVsCodeApi().postMessage({ type: 'ready' }); // the host answers with the latest state
  }

  override disconnectedCallback(): void {
    window.removeEventListener('message', this.onMessage);
    super.disconnectedCallback();
  }

  private onMessage = (event: MessageEvent<CardMessage>) => {
    this.message = event.data;
    this.heatmapShown = false;
    this.mirrorState();
  };

  private get cardState(): CardViewState {
    return this.message?.type ?? 'idle';
  }

  private mirrorState(): void {
    const m = this.message;
    this.dataset.state = this.cardState;
    if (m?.type === 'result') {
      this.dataset.top = m.result.top;
      this.dataset.probabilities = probabilitiesInClassOrder(m.result).join(',');
    } else {
      delete this.dataset.top;
      delete this.dataset.probabilities;
    }
    if (m?.type === 'error') this.dataset.error = m.error;
    else delete this.dataset.error;
    if (m) this.dataset.file = m.file;
  }

  override render() {
    const m = this.message;
    const result = m?.type === 'result' ? m.result : null;
    return html`
      ${
        m?.imageUri
          ? html`<figure>
        <dermlens-heatmap-preview .src=${m.imageUri} alt="The image being classified" .heatmap=${result?.heatmap ?? null}
          .imageWidth=${result?.width ?? 0} .imageHeight=${result?.height ?? 0} ?shown=${this.heatmapShown}></dermlens-heatmap-preview>
        <figcaption>${m.file}</figcaption>
      </figure>`
          : m
            ? html`<figure><figcaption>${m.file}</figcaption></figure>`
            : nothing
      }
      <dermlens-card .state=${this.cardState} .result=${result} .error=${m?.type === 'error' ? m.error : ''}
        ?heatmap-shown=${this.heatmapShown} @dermlens-heatmap=${(e: CustomEvent<boolean>) => (this.heatmapShown = e.detail)}></dermlens-card>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'dermlens-vscode-result': DermlensVscodeResult;
  }
}
