/// <reference types="mocha" />
import { expect, fixture, html } from '@open-wc/testing';
import '../../extension/components/dermlens-model-about.ts';
import type { DermlensModelAbout } from '../../extension/components/dermlens-model-about.ts';
import { parseModelCard, type ModelCard } from '../../core/model-card.ts';

const RECALL = { akiec: 0.41, bcc: 0.62, bkl: 0.55, df: 0.3, mel: 0.48, nv: 0.91, vasc: 0.8 };

const trainedCard: ModelCard = parseModelCard({
  name: 'DermLens compact CNN',
  version: 'compact-96 2026-11-26',
  created: '2026-11-26',
  arch: 'compact',
  inputSize: 96,
  parameters: 195591,
  training: 'HAM10000, lesion-grouped split.',
  evaluation: {
    split: 'the held-out test split',
    n: 1503,
    accuracy: 0.8123,
    balancedAccuracy: 0.5871,
    perClass: Object.fromEntries(Object.entries(RECALL).map(([code, recall]) => [code, { recall, support: 100 }])),
  },
  limitations: ['Dermoscopy images only.'],
});

describe('<dermlens-model-about>', () => {
  it('says in plain words how often it is right, with the measured per-class recall and the details one click away', async () => {
    const el = await fixture<DermlensModelAbout>(html`<dermlens-model-about .card=${trainedCard}></dermlens-model-about>`);
    const r = el.shadowRoot!;
    expect(r.querySelector('h2')!.textContent).to.equal('DermLens compact CNN');
    expect(r.textContent).to.contain('195,591 parameters');
    const text = r.textContent!.replace(/\s+/g, ' ');
    expect(text).to.contain('Tested on 1,503 photos it had never seen, it named the right type for 81 out of 100 of them');
    expect(text).to.contain('counting every type equally, it is right for 59 out of 100');
    expect(r.querySelector('details')!.open, 'technical details start closed').to.equal(false);
    expect(r.querySelector('details')!.textContent!.replace(/\s+/g, ' '))
      .to.contain('the held-out test split (1,503 images)')
      .and.to.contain('accuracy 81 %, balanced accuracy 59 %');
    const outside = [...r.children]
      .filter((el) => el.localName !== 'details' && el.localName !== 'style')
      .map((el) => el.textContent)
      .join(' ');
    expect(outside, 'no jargon outside the details').not.to.match(/refit|temperature|flip|recall|balanced|parameters/);
    expect(r.querySelector('details')!.textContent).to.contain('HAM10000, lesion-grouped split.');
    const rows = [...r.querySelectorAll<HTMLTableRowElement>('tbody tr')];
    expect(rows.map((row) => [row.dataset.code, row.querySelector('td.num')!.textContent])).to.deep.equal([
      ['akiec', '41 %'],
      ['bcc', '62 %'],
      ['bkl', '55 %'],
      ['df', '30 %'],
      ['mel', '48 %'],
      ['nv', '91 %'],
      ['vasc', '80 %'],
    ]);
    expect([...r.querySelectorAll('li')].map((li) => li.textContent)).to.include('Dermoscopy images only.');
    expect(r.querySelector('.warning')).to.equal(null);
    await expect(el).to.be.accessible();
  });

  it('says so when the model is the untrained dev model with no measurements', async () => {
    const card = parseModelCard({
      name: 'dev',
      version: 'compact-96 dev',
      untrained: true,
      created: '2026-11-26',
      arch: 'compact',
      inputSize: 96,
      evaluation: null,
    });
    const el = await fixture<DermlensModelAbout>(html`<dermlens-model-about .card=${card}></dermlens-model-about>`);
    expect(el.shadowRoot!.querySelector('.warning')!.textContent).to.contain('untrained');
    expect(el.shadowRoot!.textContent).to.contain('has not been evaluated');
    expect(el.shadowRoot!.querySelector('table')).to.equal(null);
  });

  it('shows loading, then a load error', async () => {
    const el = await fixture<DermlensModelAbout>(html`<dermlens-model-about></dermlens-model-about>`);
    expect(el.shadowRoot!.querySelector('[role="status"]')!.textContent).to.contain('Loading');
    el.error = 'HTTP 404';
    await el.updateComplete;
    expect(el.shadowRoot!.querySelector('[role="alert"]')!.textContent).to.contain('HTTP 404');
  });
});
