// The result card as people meet it, in the real extension on real-looking pages (fixtures/layout-pages.ts):
// page zoom, a photo low in the window at the end of a page, narrow and tiny windows, hostile page CSS,
// and the popup's 600 px cap. Geometry is read from getBoundingClientRect inside the closed shadow root
// (card-geometry.ts): the card stays inside the viewport, beside and not over its image when there is
// room, every class name is whole, every percentage on one line, and no horizontal scrollbar appears.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'puppeteer-core';
import { CLASSES } from '../../core/labels.ts';
import { useExtension } from './harness.ts';
import { assertResult } from './assertions.ts';
import { clickInCard, overlaps, pageLayout, settle, showCardOn, uploadToPopup, type PageLayout } from './card-geometry.ts';

const e2e = useExtension();
const FULL_NAMES = CLASSES.map((c) => c.name).sort();
const cardOn = (
  name: string,
  viewport: { width: number; height: number },
  prepare?: (page: Page) => Promise<void>,
  options?: { expand?: boolean },
) => showCardOn(e2e, name, viewport, prepare, options);

/** What every card must do, whatever the page: fit, show whole names and one-line percentages, add no scrollbar. */
function assertReadable(layout: PageLayout, what: string): void {
  const { host, card, viewport, scrollWidth, clientWidth } = layout;
  const allowed = Math.max(clientWidth, layout.scrollWidthBefore ?? 0);
  const within = `${what}: card ${JSON.stringify(host)} outside the ${viewport.width}x${viewport.height} viewport`;
  assert.ok(host.left >= -0.5 && host.right <= viewport.width + 0.5, within);
  assert.ok(host.top >= -0.5 && host.bottom <= viewport.height + 0.5, within);
  assert.deepEqual(card.names.map((n) => n.text).sort(), FULL_NAMES, `${what}: class names`);
  assert.deepEqual(
    card.names.filter((n) => n.cut).map((n) => n.text),
    [],
    `${what}: class names cut`,
  );
  assert.deepEqual(
    card.percents.filter((p) => p.lines !== 1).map((p) => p.text),
    [],
    `${what}: percentages on more than one line`,
  );
  assert.ok(scrollWidth <= allowed, `${what}: the card made the page scroll sideways (${scrollWidth} > ${allowed})`);
  // The verdict is always in view; the disclaimer too, or the card scrolls inside (one obvious scroll).
  assert.ok(card.verdict.top >= host.top && card.verdict.bottom <= viewport.height, `${what}: verdict not visible`);
  assert.ok(
    card.disclaimer.bottom <= viewport.height + 0.5 || card.scrollable,
    `${what}: the disclaimer is below the fold and nothing scrolls to it`,
  );
}

test('an article at 1280x800: the card is beside the photo, and follows it when the page scrolls', async () => {
  // As it first appears (a flagged photo's card folded): the card that follows the photo as the page scrolls.
  const { page, layout } = await cardOn('article', { width: 1280, height: 800 }, undefined, { expand: false });
  assertReadable(layout, 'article');
  assert.equal(layout.card.side, 'right');
  assert.ok(!overlaps(layout.host, layout.image), 'the card covers the photo');
  assert.ok(Math.abs(layout.host.width - 340) < 1, `card width ${layout.host.width}`);
  await page.evaluate(() => window.scrollBy(0, 150));
  await settle(page);
  const scrolled = await pageLayout(page);
  assert.ok(
    Math.abs(scrolled.host.top - scrolled.image.top - (layout.host.top - layout.image.top)) < 1,
    'the card stays level with the photo',
  );
  await page.close();
});

test('page zoom (html { zoom: 1.6 }): beside the photo at its own size, inside the viewport, no horizontal scrollbar', async () => {
  const { page, layout } = await cardOn('zoom', { width: 1280, height: 800 });
  assertReadable(layout, 'zoom');
  assert.ok(!overlaps(layout.host, layout.image), 'the card covers the photo');
  assert.ok(Math.abs(layout.host.width - 340) < 1, `card scaled by the page zoom: width ${layout.host.width}`);
  assert.ok(Math.abs(layout.host.left - (layout.image.right + 8)) < 1, 'next to the photo');
  assert.equal(layout.card.topNameFontSize, '15px');
  await page.close();
});

test('a photo low in the window at the end of a page: the whole card is visible, moved up beside the photo', async () => {
  const { page, layout } = await cardOn('end-of-page', { width: 1280, height: 720 }, async (p) => {
    await p.evaluate(() => {
      const photo = document.getElementById('photo')!;
      window.scrollTo(0, photo.getBoundingClientRect().top + window.scrollY - window.innerHeight * 0.75);
    });
  });
  assert.ok(layout.image.top > 500, `the photo is low in the window (top ${layout.image.top})`);
  assertReadable(layout, 'end of page');
  assert.ok(layout.card.disclaimer.bottom <= 720, 'the disclaimer is visible');
  assert.ok(!overlaps(layout.host, layout.image), 'the card covers the photo');
  await page.close();
});

test('a 560 px window: the card goes below the photo instead of over it, and scrolls inside if it must', async () => {
  const { page, layout } = await cardOn('wide', { width: 560, height: 900 }, async (p) => {
    await p.evaluate(() => window.scrollTo(0, document.getElementById('photo')!.getBoundingClientRect().top + window.scrollY - 8));
  });
  assertReadable(layout, '560 px');
  assert.equal(layout.card.side, 'below');
  assert.ok(!overlaps(layout.host, layout.image), 'the card covers the photo');
  await page.close();
});

test('a tiny 360x640 window: still inside the viewport, names whole', async () => {
  const { page, layout } = await cardOn('article', { width: 360, height: 640 });
  assertReadable(layout, '360x640');
  await page.close();
});

test('hostile page CSS cannot hide, shrink, restyle or move the card', async () => {
  const { page, layout } = await cardOn('hostile', { width: 1280, height: 800 });
  assertReadable(layout, 'hostile');
  assert.ok(!overlaps(layout.host, layout.image), 'the card covers the photo');
  assert.ok(Math.abs(layout.host.width - 340) < 1, `card width ${layout.host.width}`);
  assert.equal(layout.card.topNameFontSize, '15px');
  assert.ok(layout.host.height > 250, `the card collapsed (${layout.host.height} px)`);
  await page.close();
});

test('"Where it looked" lays the heatmap exactly over the photo and takes it away again', async () => {
  const { page, layout } = await cardOn('article', { width: 1280, height: 800 });
  await clickInCard(page, '.heatmap-toggle');
  const heat = await page.evaluate(() => {
    const el = document.querySelector('dermlens-heatmap');
    const b = el?.getBoundingClientRect();
    return b
      ? {
          left: b.left,
          top: b.top,
          width: b.width,
          height: b.height,
          state: document.querySelector('dermlens-overlay')!.getAttribute('data-heatmap'),
        }
      : null;
  });
  assert.ok(heat, 'no heatmap layer');
  assert.equal(heat.state, 'shown');
  for (const k of ['left', 'top', 'width', 'height'] as const)
    assert.ok(Math.abs(heat[k] - layout.image[k]) < 1, `heatmap ${k} ${heat[k]} vs photo ${layout.image[k]}`);
  await clickInCard(page, '.heatmap-toggle');
  assert.equal(await page.evaluate(() => document.querySelector('dermlens-heatmap')), null);
  await page.close();
});

test("the popup's result fits in Chrome's 600 px popup: verdict, bars and disclaimer visible", async () => {
  const popup = await e2e.session.openPopup();
  await popup.setViewport({ width: 380, height: 600 });
  try {
    assertResult(await uploadToPopup(popup, e2e.server.lesionPng, 'photo.png'));
    const shown = await popup.evaluate(() => {
      const card = document.querySelector('dermlens-popup')!.shadowRoot!.querySelector('dermlens-card')!.shadowRoot!;
      // A photo the dermoscopy gate flags leads with that notice and keeps the bars folded away (by design).
      const flagged = card.querySelector('[data-part="not-dermoscopic"]') !== null;
      const [verdict, bars, disclaimer] = [flagged ? '[data-part="not-dermoscopic"]' : '[data-part="verdict"]', '.bars', '.disclaimer'].map(
        (s) => card.querySelector(s)!.getBoundingClientRect().bottom,
      );
      return {
        height: document.documentElement.scrollHeight,
        flagged,
        verdict,
        bars: flagged ? 0 : bars,
        disclaimer,
        cut: [...card.querySelectorAll<HTMLElement>('.row .name')]
          .filter((n) => n.scrollWidth > n.clientWidth + 0.5 || n.scrollHeight > n.clientHeight + 1)
          .map((n) => n.textContent),
      };
    });
    assert.ok(shown.height <= 600, `the popup is ${shown.height} px tall; Chrome shows 600`);
    assert.ok(shown.verdict <= 600 && shown.bars <= 600 && shown.disclaimer <= 600, JSON.stringify(shown));
    assert.deepEqual(shown.cut, []);
  } finally {
    await popup.close();
  }
});
