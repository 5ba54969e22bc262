/// <reference types="mocha" />
import { expect, fixture, html } from '@open-wc/testing';
import '../../extension/components/dermlens-lesion-table.ts';
import { GROUP_LABELS, type DermlensLesionTable } from '../../extension/components/dermlens-lesion-table.ts';
import { CLASSES } from '../../core/labels.ts';

describe('<dermlens-lesion-table>', () => {
  it('lists the 7 lesion types with abbreviation, full name, description and group', async () => {
    const el = await fixture<DermlensLesionTable>(html`<dermlens-lesion-table></dermlens-lesion-table>`);
    const rows = [...el.shadowRoot!.querySelectorAll<HTMLTableRowElement>('tbody tr')];
    expect(rows.map((r) => r.dataset.code)).to.deep.equal(['akiec', 'bcc', 'bkl', 'df', 'mel', 'nv', 'vasc']);
    rows.forEach((row, i) => {
      expect(row.querySelector('th[scope="row"]')!.textContent).to.equal(CLASSES[i].code);
      expect(row.querySelector('abbr')!.title).to.equal(CLASSES[i].name);
      expect(row.querySelector('.name')!.textContent).to.equal(CLASSES[i].name);
      expect(row.querySelector('.description')!.textContent).to.equal(CLASSES[i].description);
      expect(row.querySelector('.group')!.textContent).to.equal(GROUP_LABELS[CLASSES[i].group]);
    });
    expect(rows[4].querySelector('.name')!.textContent).to.equal('Melanoma');
    expect(rows[0].querySelector('.group')!.textContent, 'akiec is a pre-cancer').to.equal('pre-cancerous');
    expect(el.shadowRoot!.querySelector('caption')!.textContent).to.contain('7 lesion types');
    await expect(el).to.be.accessible();
  });
});
