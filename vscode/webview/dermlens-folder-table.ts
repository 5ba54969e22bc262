// <dermlens-folder-table>: a folder's classifications as a sortable table (file, top class, its
// probability, melanoma alert, dermoscopy gate verdict). A click on a row opens that file's card; the
// export buttons ask the host to save the rows as CSV or JSON. data-state ('loading' | 'done') and
// data-rows mirror its state for tests.
import { css, html, LitElement, nothing } from 'lit';
import { customElement, state } from 'lit/decorators.js';
import { DISCLAIMER } from '../../extension/components/card-view.ts';
import { formatPercent } from '../../extension/shared/result.ts';
import type { FolderMessage, FolderRequest, FolderRow } from '../src/webview-messages.ts';

type Column = 'file' | 'top' | 'probability' | 'alert' | 'gate';

interface VsCodeApi {
  postMessage(message: FolderRequest | { type: 'ready' }): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

/** Sort keys: refused files sort after every classified one whatever the direction. */
function sortKey(row: FolderRow, column: Column): string | number {
  const r = row.record;
  if (column === 'file') return r.file;
  if (!('predictions' in r)) return column === 'top' ? '~' : -1;
  if (column === 'top') return row.top!.name;
  if (column === 'probability') return row.top!.probability;
  if (column === 'alert') return r.melanomaAlert ? 1 : 0;
  return r.dermoscopyScore ?? -1;
}

function gateText(row: FolderRow): string {
  if (row.dermoscopic === null) return 'record' in row && 'error' in row.record ? '' : 'no gate';
  return row.dermoscopic ? 'dermoscopic' : 'not dermoscopic';
}

@customElement('dermlens-folder-table')
export class DermlensFolderTable extends LitElement {
  static override styles = css`
    :host { display: block; padding: 12px; font: 13px/1.4 system-ui, sans-serif; color: var(--vscode-foreground, #1b1f24); }
    .bar { display: flex; gap: 8px; align-items: center; margin-bottom: 8px; flex-wrap: wrap; }
    .bar .summary { flex: 1; }
    button { font: inherit; padding: 3px 10px; border-radius: 4px; cursor: pointer; border: 1px solid var(--vscode-button-border, transparent);
      background: var(--vscode-button-background, #0b5cad); color: var(--vscode-button-foreground, #fff); }
    table { border-collapse: collapse; width: 100%; }
    th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--vscode-panel-border, #d0d7de); }
    th button { all: unset; cursor: pointer; font-weight: 600; }
    th[aria-sort='ascending'] button::after { content: ' ▲'; }
    th[aria-sort='descending'] button::after { content: ' ▼'; }
    tbody tr { cursor: pointer; }
    tbody tr:hover, tbody tr:focus-visible { background: var(--vscode-list-hoverBackground, #eef1f4); outline: none; }
    td.num { text-align: right; font-variant-numeric: tabular-nums; }
    .alert { color: #cf222e; font-weight: 600; }
    .out-of-scope { color: #9a6700; }
    .error { color: var(--vscode-errorForeground, #82071e); }
    .disclaimer { font-size: 11px; color: var(--vscode-descriptionForeground, #57606a); margin-top: 8px; }
  `;

  @state() private message: FolderMessage | null = null;
  @state() private sortColumn: Column = 'file';
  @state() private ascending = true;
  private readonly vscode = acquireVsCodeApi();

  override connectedCallback(): void {
    super.connectedCallback();
    this.dataset.state = 'loading';
    window.addEventListener('message', this.onMessage);
    this.vscode.postMessage({ type: 'ready' }); // the host answers with the latest rows
  }

  override disconnectedCallback(): void {
    window.removeEventListener('message', this.onMessage);
    super.disconnectedCallback();
  }

  private onMessage = (event: MessageEvent<FolderMessage>) => {
    this.message = event.data;
    this.dataset.state = 'done';
    this.dataset.rows = String(event.data.rows.length);
  };

  private sortBy(column: Column): void {
    if (this.sortColumn === column) this.ascending = !this.ascending;
    else [this.sortColumn, this.ascending] = [column, column === 'file' || column === 'top'];
  }

  private get sortedRows(): FolderRow[] {
    const rows = [...(this.message?.rows ?? [])];
    const sign = this.ascending ? 1 : -1;
    return rows.sort((a, b) => {
      const [x, y] = [sortKey(a, this.sortColumn), sortKey(b, this.sortColumn)];
      return (x < y ? -1 : x > y ? 1 : 0) * sign || (a.record.file < b.record.file ? -1 : 1);
    });
  }

  private header(column: Column, label: string) {
    const sort = this.sortColumn === column ? (this.ascending ? 'ascending' : 'descending') : 'none';
    return html`<th scope="col" aria-sort=${sort} data-column=${column}><button type="button" @click=${() => this.sortBy(column)}>${label}</button></th>`;
  }

  private row(row: FolderRow) {
    const r = row.record;
    const open = () => this.vscode.postMessage({ type: 'open', file: r.file });
    const cells =
      'error' in r
        ? html`<td colspan="4" class="error" data-part="error">${r.error}</td>`
        : html`<td data-part="top">${row.top!.name} (${row.top!.code})</td>
            <td class="num" data-part="probability">${formatPercent(row.top!.probability)}</td>
            <td data-part="alert" class=${r.melanomaAlert ? 'alert' : ''}>${r.melanomaAlert ? 'Melanoma alert' : ''}</td>
            <td data-part="gate" class=${row.dermoscopic === false ? 'out-of-scope' : ''}>${gateText(row)}</td>`;
    return html`<tr tabindex="0" data-file=${r.file} @click=${open} @keydown=${(e: KeyboardEvent) => e.key === 'Enter' && open()}>
      <td data-part="file">${r.file}</td>${cells}</tr>`;
  }

  override render() {
    const m = this.message;
    if (!m) return html`<p>Classifying the images of the folder…</p>`;
    const refused = m.rows.filter((r) => 'error' in r.record).length;
    return html`
      <div class="bar">
        <span class="summary">${m.folder}: ${m.rows.length - refused} classified${refused ? `, ${refused} refused` : ''}${m.cancelled ? ' (cancelled before the end)' : ''}.</span>
        <button type="button" data-action="export-csv" @click=${() => this.vscode.postMessage({ type: 'export', format: 'csv' })}>Export CSV</button>
        <button type="button" data-action="export-json" @click=${() => this.vscode.postMessage({ type: 'export', format: 'json' })}>Export JSON</button>
      </div>
      <table>
        <thead><tr>${this.header('file', 'File')}${this.header('top', 'Most likely')}${this.header('probability', 'Probability')}${this.header('alert', 'Melanoma alert')}${this.header('gate', 'Dermoscopy check')}</tr></thead>
        <tbody>${this.sortedRows.map((row) => this.row(row))}</tbody>
      </table>
      ${m.rows.length === 0 ? html`<p>No image files in this folder.</p>` : nothing}
      <p class="disclaimer">${DISCLAIMER}</p>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'dermlens-folder-table': DermlensFolderTable;
  }
}
