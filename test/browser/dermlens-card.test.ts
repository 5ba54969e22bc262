/// <reference types="mocha" />
import { expect, fixture, html } from '@open-wc/testing';
import '../../extension/components/dermlens-card.ts';
import type { DermlensCard } from '../../extension/components/dermlens-card.ts';
import { DISCLAIMER } from '../../extension/components/card-view.ts';
import { CLINICAL_RESULT, FLAGGED_RESULT, resultFrom, SAMPLE_HEATMAP, SAMPLE_PROBABILITIES, SAMPLE_RESULT } from './helpers.ts';

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
    expect(r.querySelector('.top-percent')!.textContent).to.equal('62 %');
    const rows = [...r.querySelectorAll<HTMLElement>('.row')];
    expect(rows.map((row) => row.dataset.code)).to.deep.equal(['nv', 'mel', 'bcc', 'bkl', 'vasc', 'akiec', 'df']);
    expect(rows.map((row) => row.querySelector('.percent')!.textContent)).to.deep.equal([
      '62 %',
      '20 %',
      '5.0 %',
      '4.0 %',
      '4.0 %',
      '3.0 %',
      '2.0 %',
    ]);
    const meter = rows[1].querySelector('[role="meter"]')!;
    expect(meter.getAttribute('aria-valuenow')).to.equal('20');
    expect(meter.getAttribute('aria-valuetext')).to.equal('20 %');
    expect(r.getElementById(meter.getAttribute('aria-labelledby')!)!.textContent).to.contain('Melanoma');
    expect((rows[0].querySelector('.fill') as HTMLElement).style.width).to.equal('62%');
    expect(rows[1].classList.contains('malignant')).to.equal(true);
    const group = r.querySelector('.group')!;
    expect(group.textContent!.replace(/\s+/g, ' ').trim()).to.equal('Cancer and pre-cancer types together: 28 %');
    expect(rows[0].querySelector('.name')!.textContent, 'full names, no codes in the way').to.equal('Melanocytic nevus');
    expect(r.querySelector('[data-part="verdict"]')!.getAttribute('data-advice')).to.equal('benign');
    expect(r.querySelector('.advice')!.textContent!.replace(/\s+/g, ' ')).to.contain('Most likely harmless: a common mole.');
    const details = r.querySelector<HTMLDetailsElement>('details.technical')!;
    expect(details.open, 'technical details one click away').to.equal(false);
    expect(details.textContent).to.contain('compact-96 test').and.to.contain('nv 62 %');
    expect(r.querySelector('.warning'), 'no untrained warning for a trained model').to.equal(null);
  });

  it('sums the cancer and pre-cancer types and warns for the untrained model', async () => {
    const result = resultFrom([0.1, 0.3, 0.05, 0.05, 0.4, 0.05, 0.05], { untrained: true });
    const el = await fixture<DermlensCard>(html`<dermlens-card state="result" .result=${result}></dermlens-card>`);
    expect([...root(el).querySelectorAll('.group strong')].map((s) => s.textContent)).to.deep.equal(['80 %']);
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
    expect(alert.textContent!.replace(/\s+/g, ' '))
      .to.contain('Melanoma cannot be ruled out')
      .and.to.contain('30 %')
      .and.to.contain('27 %');
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

  it('shows every class name in full (no ellipsis) and keeps "<0.1 %" on one line', async () => {
    const result = resultFrom([0.0004, 0.001, 0.2, 0.0005, 0.1, 0.6971, 0.001]);
    const el = await fixture<DermlensCard>(html`<dermlens-card state="result" .result=${result} style="width: 340px"></dermlens-card>`);
    const rows = [...root(el).querySelectorAll<HTMLElement>('.row')];
    for (const row of rows) {
      const name = row.querySelector<HTMLElement>('.name')!;
      expect(getComputedStyle(name).textOverflow, row.dataset.code).to.not.equal('ellipsis');
      expect(name.scrollWidth, `${row.dataset.code} name is cut`).to.be.at.most(name.clientWidth);
      expect(name.scrollHeight, `${row.dataset.code} name is cut`).to.be.at.most(name.clientHeight + 1);
      const percent = row.querySelector<HTMLElement>('.percent')!;
      const lineHeight = parseFloat(getComputedStyle(percent).lineHeight);
      expect(percent.getBoundingClientRect().height, `${percent.textContent} wraps`).to.be.below(lineHeight * 1.5);
    }
    expect(rows.find((r) => r.dataset.code === 'akiec')!.querySelector('.name')!.textContent).to.equal(
      'Actinic keratosis / intraepithelial carcinoma',
    );
    expect(rows.find((r) => r.dataset.code === 'akiec')!.querySelector('.percent')!.textContent).to.equal('<0.1 %');
  });

  it('akiec on top is called pre-cancerous and asks for a doctor; its bar is not painted as a cancer', async () => {
    const el = await fixture<DermlensCard>(
      html`<dermlens-card state="result" .result=${resultFrom([0.58, 0.2, 0.05, 0.03, 0.12, 0.01, 0.01])}></dermlens-card>`,
    );
    const verdict = root(el).querySelector('[data-part="verdict"]')!;
    expect(verdict.getAttribute('data-advice')).to.equal('precancer');
    expect(verdict.textContent!.replace(/\s+/g, ' ')).to.contain('Worth showing to a doctor').and.to.contain('not cancer');
    expect(root(el).querySelector('.row[data-code="akiec"]')!.classList.contains('precancerous')).to.equal(true);
  });

  it('opens without a focus ring: focus goes to the title, which draws none', async () => {
    const el = await fixture<DermlensCard>(html`<dermlens-card state="result" closable .result=${SAMPLE_RESULT}></dermlens-card>`);
    el.focus();
    const title = root(el).querySelector('h2')!;
    expect(root(el).activeElement).to.equal(title);
    expect(getComputedStyle(title).outlineStyle).to.equal('none');
    expect(getComputedStyle(root(el).querySelector('.card')!).outlineStyle).to.equal('none');
  });

  it('has a "Where it looked" toggle when the result has a heatmap, and says what it shows when on', async () => {
    const without = await fixture<DermlensCard>(html`<dermlens-card state="result" .result=${SAMPLE_RESULT}></dermlens-card>`);
    expect(root(without).querySelector('.heatmap-toggle'), 'no heatmap, no toggle').to.equal(null);
    const result = resultFrom(SAMPLE_PROBABILITIES, { heatmap: SAMPLE_HEATMAP });
    const el = await fixture<DermlensCard>(html`<dermlens-card state="result" .result=${result}></dermlens-card>`);
    const toggles: boolean[] = [];
    el.addEventListener('dermlens-heatmap', (e) => toggles.push((e as CustomEvent<boolean>).detail));
    const button = root(el).querySelector<HTMLButtonElement>('.heatmap-toggle')!;
    expect(button.getAttribute('aria-pressed')).to.equal('false');
    button.click();
    expect(toggles).to.deep.equal([true]);
    el.heatmapShown = true;
    await el.updateComplete;
    expect(button.getAttribute('aria-pressed')).to.equal('true');
    expect(root(el).querySelector('[data-part="heatmap-note"]')!.textContent).to.contain('Melanocytic nevus');
    await expect(el).to.be.accessible();
  });

  it('an image the dermoscopy gate flags: leads with it, says why, and folds the class bars behind "Show the result anyway"', async () => {
    const el = await fixture<DermlensCard>(html`<dermlens-card state="result" .result=${FLAGGED_RESULT}></dermlens-card>`);
    const r = root(el);
    const lead = r.querySelector<HTMLElement>('[data-part="not-dermoscopic"]')!;
    expect(lead.textContent).to.contain('This does not look like a dermoscopic image of a skin lesion.');
    expect(lead.textContent).to.contain('means nothing here');
    const body = r.querySelector('.body')!;
    expect(body.firstElementChild, 'the verdict comes first').to.equal(lead);
    const anyway = r.querySelector<HTMLDetailsElement>('details[data-part="show-anyway"]')!;
    expect(anyway.open).to.equal(false);
    const bars = anyway.querySelector<HTMLElement>('.bars')!;
    // Closed <details> content is not rendered (content-visibility: hidden in Chromium's UA style).
    expect(bars.checkVisibility(), 'bars folded away').to.equal(false);
    const foldedHeight = anyway.getBoundingClientRect().height;
    anyway.querySelector('summary')!.click();
    await el.updateComplete;
    expect(anyway.open).to.equal(true);
    expect(bars.checkVisibility()).to.equal(true);
    expect(anyway.getBoundingClientRect().height).to.be.greaterThan(foldedHeight + 100);
    expect(anyway.querySelectorAll('.row').length).to.equal(7);
    expect(r.querySelector('.disclaimer')!.textContent).to.equal(DISCLAIMER);
    expect(r.querySelector('.technical')!.textContent).to.contain('Dermoscopic-image check: score 0.040; below 0.310');
    expect(lead.dataset.imageKind).to.equal('other');
    expect(r.querySelector('[data-part="measured-on-photos"]'), 'the "other" verdict keeps its wording').to.equal(null);
  });

  it('an ordinary photo of skin ("clinical"): says so plainly with what DermLens measured on such photos, result folded', async () => {
    const el = await fixture<DermlensCard>(html`<dermlens-card state="result" .result=${CLINICAL_RESULT}></dermlens-card>`);
    const r = root(el);
    const lead = r.querySelector<HTMLElement>('[data-part="not-dermoscopic"]')!;
    expect(lead.dataset.imageKind).to.equal('clinical');
    expect(lead.querySelector('.top')!.textContent!.trim()).to.equal('This looks like an ordinary photo of skin, not a dermoscopic image.');
    expect(lead.textContent).to.contain('taken through a dermatoscope');
    expect(lead.textContent).not.to.contain('means nothing here');
    const measured = lead.querySelector<HTMLElement>('[data-part="measured-on-photos"]')!;
    const text = measured.textContent!.replace(/\s+/g, ' ');
    expect(text).to.contain(
      'Tested on 98 phone photos of skin spots from 74 patients (PAD-UFES-20), it recognised 87 % as ordinary photos; ' +
        'its skin-spot answer on them was close to guessing (balanced accuracy 0.36; guessing: 0.20).',
    );
    expect(r.querySelector('.body')!.firstElementChild, 'the notice comes first').to.equal(lead);
    const anyway = r.querySelector<HTMLDetailsElement>('details[data-part="show-anyway"]')!;
    expect(anyway.open).to.equal(false);
    expect(anyway.querySelector<HTMLElement>('.bars')!.checkVisibility(), 'bars folded away').to.equal(false);
    expect(anyway.querySelector('summary')!.textContent).to.equal('Show the result anyway');
    expect(r.querySelector('.technical')!.textContent).to.contain('Ordinary-photo check: score 0.810; at or above 0.450');
    await expect(el).to.be.accessible();
  });

  it('an ordinary photo of skin from a model card without figures: the plain notice, no invented numbers', async () => {
    const bare = { ...CLINICAL_RESULT, clinicalPhotos: null };
    const el = await fixture<DermlensCard>(html`<dermlens-card state="result" .result=${bare}></dermlens-card>`);
    const lead = root(el).querySelector<HTMLElement>('[data-part="not-dermoscopic"]')!;
    expect(lead.textContent).to.contain('This looks like an ordinary photo of skin, not a dermoscopic image.');
    expect(lead.querySelector('[data-part="measured-on-photos"]')).to.equal(null);
    expect(lead.textContent).not.to.match(/\d %/);
  });

  it('an image the gate passes shows the lesion answer as before', async () => {
    const passed = resultFrom(SAMPLE_PROBABILITIES, {
      dermoscopy: { score: 0.93, threshold: 0.31, dermoscopic: true, kind: 'dermoscopic', clinicalScore: 0.2, clinicalThreshold: 0.45 },
    });
    const el = await fixture<DermlensCard>(html`<dermlens-card state="result" .result=${passed}></dermlens-card>`);
    expect(root(el).querySelector('[data-part="not-dermoscopic"]')).to.equal(null);
    expect(root(el).querySelector('details[data-part="show-anyway"]')).to.equal(null);
    expect(root(el).querySelector('.bars')!.getBoundingClientRect().height).to.be.greaterThan(50);
  });
});
