#!/usr/bin/env -S node --import tsx
// Renders the extension's toolbar/store icons (extension/icons/icon-N.png) from an inline SVG with sharp.
// Run once; the PNGs are committed.
import sharp from 'sharp';

const svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 128 128">
  <rect x="4" y="4" width="120" height="120" rx="28" fill="#0b5cad"/>
  <circle cx="58" cy="58" r="34" fill="none" stroke="#ffffff" stroke-width="12"/>
  <line x1="83" y1="83" x2="112" y2="112" stroke="#ffffff" stroke-width="14" stroke-linecap="round"/>
  <ellipse cx="58" cy="58" rx="15" ry="12" fill="#e8a87c"/>
</svg>`;

for (const size of [16, 32, 48, 128]) {
  await sharp(Buffer.from(svg)).resize(size, size).png({ compressionLevel: 9 }).toFile(`extension/icons/icon-${size}.png`);
}
console.log('wrote extension/icons/icon-{16,32,48,128}.png');
