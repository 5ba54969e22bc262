// Web-like negatives for the out-of-distribution set: pages generated from templates (articles, forms,
// tables, charts, logos, dashboards, code, shop grids, chats, error pages), each varied by its seed,
// rendered and screenshotted by Debian's Chromium at desktop, tablet and phone sizes.
import puppeteer from 'puppeteer-core';
import { makeRng, uniform } from '../../trainer/data/rng.ts';

type Rng = () => number;

const WORDS = (
  'the of and to in is for on with as by at from that this be are was it an or your our we you more new about data time year people may page ' +
  'search account login password update report service price order cart shipping free home help contact privacy terms news weather sport market health ' +
  'travel city music video photo review best guide learn project team open source release version download install settings profile message share'
).split(' ');
const FONTS = [
  'Arial, sans-serif',
  'Georgia, serif',
  '"DejaVu Sans", sans-serif',
  '"DejaVu Serif", serif',
  '"DejaVu Sans Mono", monospace',
  'Verdana, sans-serif',
  '"Liberation Sans", sans-serif',
];

const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)];
const words = (rng: Rng, n: number) => Array.from({ length: n }, () => pick(rng, WORDS)).join(' ');
const sentence = (rng: Rng) => {
  const s = words(rng, 6 + Math.floor(rng() * 12));
  return `${s[0].toUpperCase()}${s.slice(1)}.`;
};
const paragraph = (rng: Rng) => Array.from({ length: 2 + Math.floor(rng() * 5) }, () => sentence(rng)).join(' ');
const title = (rng: Rng) => words(rng, 2 + Math.floor(rng() * 5)).replace(/\b\w/g, (c) => c.toUpperCase());
const hsl = (rng: Rng, s = 60, l = 50) => `hsl(${Math.floor(rng() * 360)} ${s}% ${l}%)`;

/** A page body for each template; `photos` are data: URLs of real thumbnails for shop and news pages. */
const TEMPLATES: Record<string, (rng: Rng, photos: string[]) => string> = {
  article: (
    rng,
    photos,
  ) => `<header style="background:${hsl(rng, 50, 30)};color:#fff;padding:12px 24px"><b>${title(rng)}</b> · ${words(rng, 4)}</header>
    <main style="max-width:760px;margin:24px auto;padding:0 16px"><h1>${title(rng)}</h1><p style="color:#666">${words(rng, 5)}</p>
    ${rng() < 0.6 ? `<img src="${pick(rng, photos)}" style="width:100%;max-height:320px;object-fit:cover">` : ''}
    ${Array.from({ length: 3 + Math.floor(rng() * 5) }, () => `<p>${paragraph(rng)}</p>`).join('')}</main>`,
  form: (
    rng,
  ) => `<div style="max-width:420px;margin:60px auto;padding:32px;border:1px solid #ddd;border-radius:${Math.floor(rng() * 16)}px;box-shadow:0 2px 12px #0002">
    <h2>${pick(rng, ['Sign in', 'Create account', 'Checkout', 'Contact us', 'Subscribe'])}</h2>
    ${Array.from({ length: 2 + Math.floor(rng() * 4) }, () => `<label style="display:block;margin-top:12px">${title(rng)}<input style="display:block;width:100%;padding:8px;margin-top:4px" value="${rng() < 0.5 ? words(rng, 2) : ''}"></label>`).join('')}
    <label style="display:block;margin:12px 0"><input type="checkbox" ${rng() < 0.5 ? 'checked' : ''}> ${words(rng, 5)}</label>
    <button style="background:${hsl(rng)};color:#fff;border:0;padding:10px 24px;border-radius:6px">${title(rng)}</button></div>`,
  table: (rng) => {
    const columns = 3 + Math.floor(rng() * 5);
    const head = Array.from(
      { length: columns },
      () => `<th style="text-align:left;padding:6px;border-bottom:2px solid #999">${title(rng)}</th>`,
    ).join('');
    const rows = Array.from(
      { length: 8 + Math.floor(rng() * 20) },
      (_, r) =>
        `<tr style="background:${r % 2 ? '#f4f4f4' : '#fff'}">${Array.from({ length: columns }, (_, c) => `<td style="padding:6px">${c === 0 ? words(rng, 2) : (rng() * 10000).toFixed(2)}</td>`).join('')}</tr>`,
    ).join('');
    return `<h2 style="margin:16px">${title(rng)}</h2><table style="border-collapse:collapse;margin:16px;width:90%">${head}${rows}</table>`;
  },
  chart: (rng) => {
    const bars = 4 + Math.floor(rng() * 10);
    const kind = Math.floor(rng() * 3);
    let svg = '';
    if (kind === 0)
      svg = Array.from({ length: bars }, (_, i) => {
        const h = uniform(rng, 20, 300);
        return `<rect x="${40 + i * (560 / bars)}" y="${340 - h}" width="${400 / bars}" height="${h}" fill="${hsl(rng)}"/>`;
      }).join('');
    else if (kind === 1)
      svg = Array.from(
        { length: 1 + Math.floor(rng() * 3) },
        () =>
          `<polyline fill="none" stroke="${hsl(rng)}" stroke-width="3" points="${Array.from({ length: bars }, (_, i) => `${40 + i * (560 / (bars - 1))},${uniform(rng, 40, 330)}`).join(' ')}"/>`,
      ).join('');
    else {
      let angle = 0;
      svg = Array.from({ length: bars }, () => {
        const slice = (uniform(rng, 0.3, 1) / bars) * 2 * Math.PI * 1.6;
        const [a0, a1] = [angle, Math.min(angle + slice, 2 * Math.PI)];
        angle = a1;
        return `<path d="M320,190 L${320 + 150 * Math.cos(a0)},${190 + 150 * Math.sin(a0)} A150,150 0 ${a1 - a0 > Math.PI ? 1 : 0},1 ${320 + 150 * Math.cos(a1)},${190 + 150 * Math.sin(a1)} Z" fill="${hsl(rng)}"/>`;
      }).join('');
    }
    return `<h3 style="margin:16px">${title(rng)}</h3><svg width="640" height="380" style="margin:16px;border:1px solid #ccc"><line x1="40" y1="340" x2="620" y2="340" stroke="#333"/><line x1="40" y1="20" x2="40" y2="340" stroke="#333"/>${svg}</svg><p style="margin:16px">${paragraph(rng)}</p>`;
  },
  logo: (rng) => {
    const shape = Math.floor(rng() * 3);
    const mark =
      shape === 0
        ? `<circle cx="60" cy="60" r="50" fill="${hsl(rng)}"/>`
        : shape === 1
          ? `<rect x="15" y="15" width="90" height="90" rx="${rng() * 40}" fill="${hsl(rng)}"/>`
          : `<polygon points="60,8 112,110 8,110" fill="${hsl(rng)}"/>`;
    return `<div style="display:flex;align-items:center;justify-content:center;height:100vh;gap:24px;background:${rng() < 0.5 ? '#fff' : hsl(rng, 30, 92)}">
      <svg width="120" height="120">${mark}<text x="60" y="75" font-size="44" text-anchor="middle" fill="#fff" font-family="sans-serif">${pick(rng, [...'ABCDEFGHKMNPRSTXZ'])}</text></svg>
      <span style="font-size:${40 + Math.floor(rng() * 50)}px;font-weight:${rng() < 0.5 ? 700 : 300};color:${hsl(rng, 50, 30)}">${title(rng).split(' ').slice(0, 2).join('')}</span></div>`;
  },
  dashboard: (
    rng,
  ) => `<nav style="display:flex;gap:20px;padding:12px 20px;background:${hsl(rng, 40, 20)};color:#fff">${Array.from({ length: 5 }, () => `<span>${title(rng).split(' ')[0]}</span>`).join('')}</nav>
    <div style="display:grid;grid-template-columns:repeat(${2 + Math.floor(rng() * 3)},1fr);gap:16px;padding:20px;background:#f3f4f6">
    ${Array.from({ length: 4 + Math.floor(rng() * 8) }, () => `<div style="background:#fff;border-radius:8px;padding:16px;box-shadow:0 1px 4px #0002"><div style="color:#666">${title(rng)}</div><div style="font-size:28px;font-weight:700;color:${hsl(rng, 60, 40)}">${Math.floor(rng() * 99999).toLocaleString('en')}</div><div style="height:6px;background:#eee;margin-top:8px"><div style="height:6px;width:${Math.floor(rng() * 100)}%;background:${hsl(rng)}"></div></div></div>`).join('')}</div>`,
  code: (
    rng,
  ) => `<div style="background:${rng() < 0.6 ? '#1e1e1e' : '#fdfdfd'};color:${rng() < 0.6 ? '#ddd' : '#222'};font:14px/1.5 'DejaVu Sans Mono',monospace;padding:16px;min-height:100vh">
    ${Array.from({ length: 20 + Math.floor(rng() * 30) }, (_, i) => `<div><span style="color:#888;display:inline-block;width:3em">${i + 1}</span>${'&nbsp;'.repeat(2 * Math.floor(rng() * 4))}<span style="color:${hsl(rng, 70, 60)}">${pick(rng, ['const', 'function', 'return', 'if', 'import', 'export', 'let', 'for', 'class', 'await'])}</span> ${words(rng, 1 + Math.floor(rng() * 5)).replace(/ /g, '_')}(${words(rng, 1)}) ${pick(rng, ['{', ';', '=> {', '}', ''])}</div>`).join('')}</div>`,
  shop: (
    rng,
    photos,
  ) => `<header style="padding:12px 20px;border-bottom:1px solid #ddd"><b style="font-size:22px;color:${hsl(rng, 60, 35)}">${title(rng).split(' ')[0]}</b> <input placeholder="Search" style="margin-left:20px;padding:6px;width:40%"></header>
    <div style="display:grid;grid-template-columns:repeat(${2 + Math.floor(rng() * 3)},1fr);gap:16px;padding:16px">${Array.from({ length: 6 + Math.floor(rng() * 6) }, () => `<div style="border:1px solid #eee;padding:8px"><img src="${pick(rng, photos)}" style="width:100%;height:150px;object-fit:${rng() < 0.5 ? 'cover' : 'contain'};background:#fafafa"><div>${title(rng)}</div><b>$${(rng() * 200).toFixed(2)}</b> <button style="float:right">Add to cart</button></div>`).join('')}</div>`,
  chat: (rng) =>
    `<div style="max-width:520px;margin:0 auto;background:#e5ddd5;min-height:100vh;padding:12px">${Array.from(
      { length: 6 + Math.floor(rng() * 10) },
      () => {
        const me = rng() < 0.5;
        return `<div style="display:flex;justify-content:${me ? 'flex-end' : 'flex-start'}"><div style="background:${me ? '#dcf8c6' : '#fff'};border-radius:8px;padding:8px 12px;margin:6px;max-width:70%">${sentence(rng)}<div style="font-size:11px;color:#999;text-align:right">${10 + Math.floor(rng() * 12)}:${String(Math.floor(rng() * 60)).padStart(2, '0')}</div></div></div>`;
      },
    ).join('')}</div>`,
  error: (rng) =>
    `<div style="text-align:center;padding-top:15vh;background:${rng() < 0.5 ? '#fff' : hsl(rng, 20, 95)};min-height:100vh"><div style="font-size:${80 + Math.floor(rng() * 80)}px;font-weight:700;color:${hsl(rng, 50, 45)}">${pick(rng, ['404', '403', '500', '502', 'Oops'])}</div><h2>${pick(rng, ['Page not found', 'Access denied', 'Something went wrong', 'Please sign in to continue'])}</h2><p>${sentence(rng)}</p><a href="#">${words(rng, 3)}</a></div>`,
  search: (
    rng,
  ) => `<div style="padding:16px 32px"><input value="${words(rng, 3)}" style="width:60%;padding:10px;border-radius:20px;border:1px solid #ccc"><p style="color:#777">About ${Math.floor(rng() * 9e6).toLocaleString('en')} results</p>
    ${Array.from({ length: 5 + Math.floor(rng() * 5) }, () => `<div style="margin:18px 0"><div style="color:#0a0;font-size:13px">https://${words(rng, 1)}.example/${words(rng, 2).replace(/ /g, '/')}</div><a style="font-size:19px;color:#1a0dab">${title(rng)}</a><div style="color:#444">${sentence(rng)} ${sentence(rng)}</div></div>`).join('')}</div>`,
};

const VIEWPORTS = [
  { width: 1280, height: 800 },
  { width: 1024, height: 768 },
  { width: 800, height: 600 },
  { width: 390, height: 844 },
  { width: 768, height: 1024 },
];

export interface Screenshot {
  name: string;
  png: Buffer;
}

export interface PageSpec {
  kind: string;
  index: number;
  name: string;
}

/** `perTemplate` pages of every template, named '<template>-<index>'. */
export function screenshotPages(perTemplate: number): PageSpec[] {
  return Object.keys(TEMPLATES).flatMap((kind) =>
    Array.from({ length: perTemplate }, (_, index) => ({ kind, index, name: `${kind}-${String(index).padStart(3, '0')}` })),
  );
}

/** Renders the pages and hands each screenshot (PNG) to `save`. One browser for all; as root Chromium needs --no-sandbox. */
export async function renderScreenshots(
  pages: PageSpec[],
  photos: string[],
  save: (shot: Screenshot) => Promise<void>,
  chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
): Promise<void> {
  const browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--font-render-hinting=none'],
  });
  try {
    const page = await browser.newPage();
    for (const { kind, index, name } of pages) {
      const rng = makeRng(7919 * (Object.keys(TEMPLATES).indexOf(kind) + 1) + index);
      await page.setViewport(pick(rng, VIEWPORTS));
      const body = TEMPLATES[kind](rng, photos);
      await page.setContent(
        `<!doctype html><html><head><meta charset="utf-8"><style>body{margin:0;font-family:${pick(rng, FONTS)};font-size:${14 + Math.floor(rng() * 6)}px}</style></head><body>${body}</body></html>`,
        { waitUntil: 'load' },
      );
      await save({ name, png: Buffer.from(await page.screenshot({ type: 'png' })) });
    }
  } finally {
    await browser.close();
  }
}
