/// <reference types="mocha" />
import { expect, fixture, html } from '@open-wc/testing';
import '../../extension/components/result-card.ts';
import type { DermlensCard } from '../../extension/components/result-card.ts';
import { DISCLAIMER } from '../../extension/components/card-view.ts';
import { resultFrom, SAMPLE_RESULT } from './helpers.ts';

const root = (el: DermlensCard) => el.shadowRoot!;

describe('<dermlens-card>', () => {
  it('shows a busy loading state with the disclaimer', async () => {
    const el = await fixture<DermlensCard>(html`<dermlens-card state="loading" message="Waiting for your permission…"></dermlens-card>`);
    const card = root(el).querySelector('.card')!;
    expect(card.getAttribute('aria-busy')).to.equal('true');
    expect(root(el).querySelector('.loading')!.textContent).to.contain('Classifying');
    expect(root(el).querySelector('.message')!.textContent).to.equal('Waiting for your permission…');
    expect(root(el).querySelector('.disclaimer')!.textContent).to.equal(DISCLAIMER);
    expect(root(el).querySelector('.bars')).to.equal(null);
    expect(root(el).querySelector('.close'), 'not closable by default').to.equal(null);
  });

  it('shows the top class with its full name, all 7 bars in order, and the group summary', async () => {
    const el = await fixture<DermlensCard>(html`<dermlens-card state="result" .result=${SAMPLE_RESULT}></dermlens-card>`);
    const r = root(el);
    expect(r.querySelector('.card')!.getAttribute('aria-busy')).to.equal('false');
    expect(r.querySelector('.top-name')!.textContent).to.equal('Melanocytic nevus');
    expect(r.querySelector('.top-code')!.textContent).to.equal('(nv)');
    expect(r.querySelector('.top-percent')!.textContent).to.equal('62 %');
    const rows = [...r.querySelectorAll<HTMLElement>('.row')];
    expect(rows.map((row) => row.dataset.code)).to.deep.equal(['nv', 'mel', 'bcc', 'bkl', 'vasc', 'akiec', 'df']);
    expect(rows.map((row) => row.querySelector('.percent')!.textContent)).to.deep.equal(['62 %', '20 %', '5.0 %', '4.0 %', '4.0 %', '3.0 %', '2.0 %']);
    const meter = rows[1].querySelector('[role="meter"]')!;
    expect(meter.getAttribute('aria-valuenow')).to.equal('20');
    expect(meter.getAttribute('aria-valuetext')).to.equal('20 %');
    expect(r.getElementById(meter.getAttribute('aria-labelledby')!)!.textContent).to.contain('Melanoma');
    expect((rows[0].querySelector('.fill') as HTMLElement).style.width).to.equal('62%');
    expect(rows[1].classList.contains('malignant')).to.equal(true);
    const group = r.querySelector('.group')!;
    expect(group.textContent!.replace(/\s+/g, ' ').trim())
      .to.equal('Malignant group (akiec, bcc, mel): 28 %; benign group: 72 %');
    expect(r.querySelector('.meta')!.textContent).to.contain('compact-96 test');
    expect(r.querySelector('.warning'), 'no untrained warning for a trained model').to.equal(null);
  });

  it('sums the malignant group and warns for the untrained model', async () => {
    const result = resultFrom([0.1, 0.3, 0.05, 0.05, 0.4, 0.05, 0.05], { untrained: true });
    const el = await fixture<DermlensCard>(html`<dermlens-card state="result" .result=${result}></dermlens-card>`);
    expect([...root(el).querySelectorAll('.group strong')].map((s) => s.textContent)).to.deep.equal(['80 %', '20 %']);
    expect(root(el).querySelector('.warning')!.textContent).to.contain('Untrained');
  });

  it('shows the melanoma alert when P(mel) reaches the model threshold, even with another class on top', async () => {
    const quiet = await fixture<DermlensCard>(html`<dermlens-card state="result" .result=${SAMPLE_RESULT}></dermlens-card>`);
    expect(root(quiet).querySelector('[data-part="melanoma-alert"]'), 'mel 20 % < threshold 27 %').to.equal(null);
    const result = resultFrom([0.03, 0.05, 0.04, 0.02, 0.3, 0.52, 0.04]);
    const el = await fixture<DermlensCard>(html`<dermlens-card state="result" .result=${result}></dermlens-card>`);
    expect(root(el).querySelector('.top-name')!.textContent).to.equal('Melanocytic nevus');
    const alert = root(el).querySelector('[data-part="melanoma-alert"]')!;
    expect(alert.getAttribute('role')).to.equal('alert');
    expect(alert.textContent!.replace(/\s+/g, ' ')).to.contain('Melanoma cannot be ruled out').and.to.contain('30 %').and.to.contain('27 %');
  });

  it('renders error text as text, never as markup', async () => {
    const hostile = '<img src=x onerror="window.__pwned = true"><b>bold</b>';
    const el = await fixture<DermlensCard>(html`<dermlens-card state="error" .error=${hostile}></dermlens-card>`);
    const error = root(el).querySelector('[role="alert"]')!;
    expect(error.querySelector('.error-text')!.textContent).to.equal(hostile);
    expect(error.querySelector('img')).to.equal(null);
    expect(error.querySelector('b')).to.equal(null);
    expect((window as unknown as { __pwned?: boolean }).__pwned).to.equal(undefined);
  });

  it('has a labelled close button that fires dermlens-close, and is accessible', async () => {
    const el = await fixture<DermlensCard>(html`<dermlens-card state="result" closable .result=${SAMPLE_RESULT}></dermlens-card>`);
    let closed = 0;
    el.addEventListener('dermlens-close', () => closed++);
    const button = root(el).querySelector<HTMLButtonElement>('button.close')!;
    expect(button.getAttribute('aria-label')).to.equal('Close the DermLens result');
    button.click();
    expect(closed).to.equal(1);
    await expect(el).to.be.accessible();
  });

  it('reflects its state as an attribute and updates when the result arrives', async () => {
    const el = await fixture<DermlensCard>(html`<dermlens-card state="loading"></dermlens-card>`);
    expect(el.getAttribute('state')).to.equal('loading');
    el.state = 'result';
    el.result = SAMPLE_RESULT;
    await el.updateComplete;
    expect(el.getAttribute('state')).to.equal('result');
    expect(root(el).querySelectorAll('.row').length).to.equal(7);
    expect(root(el).querySelector('.loading')).to.equal(null);
  });
});
