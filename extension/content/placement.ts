// Where the page overlay's result card goes, as a pure function of the image's box, the card's height
// and the viewport (all in viewport CSS pixels), so the rules are unit-tested without a browser:
// - always inside the viewport (with a GAP margin); a card taller than the viewport scrolls inside;
// - beside the image when there is room (right, then left; narrower down to MIN_WIDTH if needed),
//   else below or above it (shortened down to MIN_HEIGHT, scrolling inside), and only when nothing
//   fits, where it covers the least of the image;
// - vertically next to the image but moved up or down to stay visible (an image low in the window, or
//   at the end of the page), and scrolled away with the image when the image leaves the viewport.

export interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}
export interface Viewport {
  width: number;
  height: number;
}
export type Side = 'right' | 'left' | 'below' | 'above' | 'over' | 'corner';

export interface Placement {
  left: number;
  top: number;
  width: number;
  /** Set when the card must scroll inside: its height is limited to this. */
  maxHeight: number | null;
  side: Side;
}

export const GAP = 8;
export const CARD_WIDTH = 340;
/** Below this the bars and the advice get cramped; the card then goes below or above the image instead. */
export const MIN_WIDTH = 260;
/** A card shortened to fit below or above an image keeps at least this much (verdict and a few bars). */
export const MIN_HEIGHT = 220;
/** How much of the card stays level with the image while the image scrolls away. */
const ATTACHED = 40;

const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), Math.max(lo, hi));

function overlap(a: Box, b: Box): number {
  const w = Math.min(a.left + a.width, b.left + b.width) - Math.max(a.left, b.left);
  const h = Math.min(a.top + a.height, b.top + b.height) - Math.max(a.top, b.top);
  return w > 0 && h > 0 ? w * h : 0;
}

export function placeCard(image: Box | null, cardHeight: number, viewport: Viewport): Placement {
  const fullWidth = Math.max(0, Math.min(CARD_WIDTH, viewport.width - 2 * GAP));
  const roomHeight = Math.max(0, viewport.height - 2 * GAP);
  const height = Math.min(cardHeight, roomHeight);
  const maxHeightFor = (h: number) => (cardHeight > h ? h : null);
  if (!image)
    return { left: viewport.width - fullWidth - GAP, top: GAP, width: fullWidth, maxHeight: maxHeightFor(roomHeight), side: 'corner' };

  const right = image.left + image.width;
  const bottom = image.top + image.height;
  const attached = Math.min(ATTACHED, image.height / 2);
  /** Level with the image, moved to stay inside the viewport, but never detached from the image. */
  const besideTop = (h: number) => clamp(clamp(image.top, GAP, viewport.height - h - GAP), image.top - h + attached, bottom - attached);
  const besideLeft = (w: number) => clamp(image.left, GAP, viewport.width - w - GAP);

  const roomRight = viewport.width - GAP - (right + GAP);
  const roomLeft = image.left - GAP - GAP;
  for (const [side, room] of [
    ['right', roomRight],
    ['left', roomLeft],
  ] as const) {
    if (room < Math.min(MIN_WIDTH, fullWidth)) continue;
    const width = Math.min(fullWidth, room);
    const left = side === 'right' ? right + GAP : image.left - GAP - width;
    return { left, top: besideTop(height), width, maxHeight: maxHeightFor(roomHeight), side };
  }
  const roomBelow = viewport.height - GAP - (bottom + GAP);
  const roomAbove = image.top - GAP - GAP;
  for (const [side, room] of [
    ['below', roomBelow],
    ['above', roomAbove],
  ] as const) {
    if (room < Math.min(MIN_HEIGHT, cardHeight)) continue;
    const h = Math.min(cardHeight, room);
    const top = side === 'below' ? bottom + GAP : image.top - GAP - h;
    return { left: besideLeft(fullWidth), top, width: fullWidth, maxHeight: maxHeightFor(h), side };
  }
  // Nothing fits beside the image: cover as little of its visible part as possible.
  const visible = (() => {
    const left = Math.max(0, image.left);
    const top = Math.max(0, image.top);
    return {
      left,
      top,
      width: Math.max(0, Math.min(viewport.width, right) - left),
      height: Math.max(0, Math.min(viewport.height, bottom) - top),
    };
  })();
  const candidates: Box[] = [
    { left: viewport.width - fullWidth - GAP, top: besideTop(height), width: fullWidth, height },
    { left: GAP, top: besideTop(height), width: fullWidth, height },
    { left: besideLeft(fullWidth), top: viewport.height - height - GAP, width: fullWidth, height },
    { left: besideLeft(fullWidth), top: GAP, width: fullWidth, height },
  ];
  let best = candidates[0];
  for (const c of candidates) if (overlap(c, visible) < overlap(best, visible)) best = c;
  return { left: best.left, top: best.top, width: fullWidth, maxHeight: maxHeightFor(roomHeight), side: 'over' };
}
