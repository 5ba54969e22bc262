// <dermlens-lesion-table>: the seven HAM10000 lesion types with their abbreviations and short
// descriptions (the original app's table), from core/labels.ts.
import { css, html, LitElement } from 'lit';
import { customElement } from 'lit/decorators.js';
import { CLASSES, type LesionGroup } from '../../core/labels.ts';

/** What each group is called in the table: akiec is a pre-cancer, not a cancer. */
export const GROUP_LABELS: Record<LesionGroup, string> = { benign: 'benign', precancerous: 'pre-cancerous', malignant: 'cancer' };

/** The table of the seven lesion types, in class order. */
@customElement('dermlens-lesion-table')
export class DermlensLesionTable extends LitElement {
  static override styles = css`
    :host { display: block; font: 13px/1.4 system-ui, sans-serif; color: #1b1f24; }
    table { border-collapse: collapse; width: 100%; }
    caption { text-align: left; font-weight: 700; margin-bottom: 6px; }
    th, td { text-align: left; vertical-align: top; padding: 5px 6px; border-bottom: 1px solid #eef1f4; }
    th[scope='col'] { font-size: 11px; text-transform: uppercase; color: #57606a; }
    th[scope='row'] { font-family: ui-monospace, monospace; white-space: nowrap; }
    .name { font-weight: 600; display: block; }
    .group { font-size: 11px; border-radius: 4px; padding: 1px 5px; white-space: nowrap; }
    .malignant { background: #ffebe9; color: #82071e; }
    .precancerous { background: #fff4e0; color: #5c3a00; }
    .benign { background: #dafbe1; color: #044f1e; }
  `;

  override render() {
    return html`
      <table>
        <caption>The 7 lesion types DermLens distinguishes</caption>
        <thead><tr><th scope="col">Abbr.</th><th scope="col">Lesion type</th><th scope="col">Group</th></tr></thead>
        <tbody>
          ${CLASSES.map(
            (c) => html`
            <tr data-code=${c.code}>
              <th scope="row"><abbr title=${c.name}>${c.code}</abbr></th>
              <td><span class="name">${c.name}</span><span class="description">${c.description}</span></td>
              <td><span class="group ${c.group}">${GROUP_LABELS[c.group]}</span></td>
            </tr>`,
          )}
        </tbody>
      </table>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'dermlens-lesion-table': DermlensLesionTable;
  }
}
