// The fixture server the end-to-end tests browse: right content types, 404s, a second origin
// without CORS headers, and a request log that records Sec-Fetch-Dest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { startFixtureServer } from '../e2e/fixture-server.ts';

test('fixture server serves pages and images on two origins and logs every request', async () => {
  const server = await startFixtureServer();
  try {
    const { urls } = server;
    assert.notEqual(new URL(urls.page).origin, new URL(urls.crossOriginJpeg).origin);

    const page = await fetch(urls.page);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    const html = await page.text();
    for (const src of ['/lesion.png', '/lesion.jpg', urls.crossOriginJpeg, urls.dataUrl]) assert.ok(html.includes(src), src);

    const cross = await fetch(urls.crossOriginJpeg, { headers: { 'sec-fetch-dest': 'empty' } });
    assert.equal(cross.status, 200);
    assert.equal(cross.headers.get('access-control-allow-origin'), null);
    assert.equal((await sharp(Buffer.from(await cross.arrayBuffer())).metadata()).format, 'jpeg');

    const png = Buffer.from(await (await fetch(urls.lesionPng)).arrayBuffer());
    assert.deepEqual(png, server.lesionPng);
    assert.deepEqual(
      await sharp(png)
        .metadata()
        .then((m) => [m.width, m.height]),
      [320, 240],
    );

    const dataPng = Buffer.from(urls.dataUrl.split(',')[1]!, 'base64');
    assert.equal((await sharp(dataPng).metadata()).format, 'png');

    assert.equal((await fetch(urls.missing)).status, 404);
    const htmlAsPng = await fetch(urls.htmlAsPng);
    assert.equal(htmlAsPng.headers.get('content-type'), 'image/png');
    assert.match(await htmlAsPng.text(), /<html>/);
    const huge = await sharp(Buffer.from(await (await fetch(urls.hugePng)).arrayBuffer()), { limitInputPixels: false }).metadata();
    assert.deepEqual([huge.width, huge.height], [12000, 12000]);
    const bomb = await sharp(Buffer.from(await (await fetch(urls.hugeDeclaredJpeg)).arrayBuffer()), { limitInputPixels: false }).metadata();
    assert.deepEqual([bomb.width, bomb.height], [60000, 60000]);
    assert.equal((await fetch(urls.corruptJpeg)).headers.get('content-type'), 'image/jpeg');

    const frame = await (await fetch(urls.iframePage)).text();
    assert.ok(frame.includes(`${server.otherOrigin}/frame.html`));
    assert.ok((await (await fetch(`${server.otherOrigin}/frame.html`)).text()).includes('/frame-lesion.png'));

    const crossEntry = server.log.find((e) => e.path === '/cross-lesion.jpg');
    assert.equal(crossEntry?.server, 'other');
    assert.equal(crossEntry?.secFetchDest, 'empty');
    assert.ok(server.log.some((e) => e.server === 'main' && e.path === '/missing.png'));
  } finally {
    await server.close();
  }
});
