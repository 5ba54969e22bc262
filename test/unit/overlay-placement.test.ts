// extension/content/placement.ts: the card stays in the viewport, beside its image when there is room.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CARD_WIDTH, GAP, placeCard, type Box, type Placement } from '../../extension/content/placement.ts';

const viewport = { width: 1280, height: 800 };
const inside = (p: Placement, h: number, vp = viewport) => {
  const height = p.maxHeight ?? h;
  assert.ok(p.left >= GAP - 1e-9 && p.left + p.width <= vp.width - GAP + 1e-9, `horizontally inside: ${JSON.stringify(p)}`);
  assert.ok(p.top >= GAP - 1e-9 && p.top + height <= vp.height - GAP + 1e-9, `vertically inside: ${JSON.stringify(p)}`);
};
const overlaps = (p: Placement, h: number, img: Box) =>
  p.left < img.left + img.width && p.left + p.width > img.left && p.top < img.top + img.height && p.top + (p.maxHeight ?? h) > img.top;

test('right of the image, level with its top, when there is room', () => {
  const image = { left: 100, top: 100, width: 400, height: 300 };
  const p = placeCard(image, 480, viewport);
  assert.deepEqual(p, { left: 508, top: 100, width: CARD_WIDTH, maxHeight: null, side: 'right' });
});

test('left of an image at the right edge', () => {
  const p = placeCard({ left: 900, top: 100, width: 370, height: 300 }, 480, viewport);
  assert.equal(p.side, 'left');
  assert.equal(p.left + p.width, 892);
});

test('an image low in the window: the card moves up to stay fully visible, still level with the image', () => {
  const image = { left: 100, top: 650, width: 400, height: 300 };
  const p = placeCard(image, 480, viewport);
  assert.equal(p.side, 'right');
  inside(p, 480);
  assert.equal(p.top, 800 - 480 - GAP);
  assert.ok(p.top + 480 > image.top, 'still beside the image');
});

test('a card taller than the viewport scrolls inside', () => {
  const p = placeCard({ left: 100, top: 100, width: 300, height: 200 }, 700, { width: 1280, height: 500 });
  assert.equal(p.maxHeight, 500 - 2 * GAP);
  inside(p, 700, { width: 1280, height: 500 });
});

test('a 560 px window: below the image instead of on it, shortened to fit and scrolling inside', () => {
  const vp = { width: 560, height: 900 };
  const image = { left: 20, top: 60, width: 480, height: 360 };
  const p = placeCard(image, 480, vp);
  assert.equal(p.side, 'below');
  assert.equal(overlaps(p, 480, image), false);
  inside(p, 480, vp);
  const short = placeCard(image, 600, { width: 560, height: 760 });
  assert.equal(short.side, 'below');
  assert.equal(short.maxHeight, 760 - GAP - (420 + GAP));
});

test('no room anywhere: the card covers as little of the image as it can', () => {
  const vp = { width: 560, height: 700 };
  const image = { left: 0, top: 0, width: 560, height: 560 };
  const p = placeCard(image, 480, vp);
  assert.equal(p.side, 'over');
  inside(p, 480, vp);
  assert.equal(p.top, 700 - 480 - GAP, 'pushed to the bottom, where the image ends');
});

test('follows the image when it scrolls out of view', () => {
  const p = placeCard({ left: 100, top: -900, width: 400, height: 300 }, 480, viewport);
  assert.equal(p.side, 'right');
  assert.ok(p.top + 480 <= 0, `the card leaves with the image (top ${p.top})`);
});

test('without the image, the top-right corner', () => {
  assert.deepEqual(placeCard(null, 300, viewport), {
    left: 1280 - CARD_WIDTH - GAP,
    top: GAP,
    width: CARD_WIDTH,
    maxHeight: null,
    side: 'corner',
  });
});
