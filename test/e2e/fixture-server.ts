// Two local HTTP servers for the end-to-end tests (no network needed):
//  - `main` (http://127.0.0.1:<port A>) serves the test pages and same-origin images;
//  - `other` (http://localhost:<port B>: another host, like an image CDN) serves an image WITHOUT
//    any CORS header, which a page script cannot read; the extension can only with host access to
//    that host, and its frame page is cross-site for the iframe tests.
// Every request is logged with its Sec-Fetch-* headers, so tests can tell a page's <img> load
// (Sec-Fetch-Dest: image) from the extension's fetch() (Sec-Fetch-Dest: empty).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateLesion } from './fixtures/lesion-image.ts';
import { corruptJpegBytes, encodeGif, encodeJpeg, encodePng, solidPalettePng, withDeclaredJpegSize } from './fixtures/images.ts';
import { LAYOUT_PAGES } from './fixtures/layout-pages.ts';
import { readFileSync } from 'node:fs';

export interface LoggedRequest {
  server: 'main' | 'other';
  method: string;
  path: string;
  url: string;
  secFetchDest: string | undefined;
  secFetchMode: string | undefined;
  secFetchSite: string | undefined;
  origin: string | undefined;
  at: number;
}

interface Resource {
  status?: number;
  contentType: string;
  body: Buffer;
}

export interface FixtureServer {
  /** http://127.0.0.1:<port> of the page server. */
  origin: string;
  /** http://localhost:<other port>: another host (cross-site), no CORS headers. */
  otherOrigin: string;
  /** http://127.0.0.1:<other port>: the page's host on another port (another origin, same host), no CORS headers. */
  otherPortOrigin: string;
  /** Absolute URLs of every fixture, by role. */
  urls: FixtureUrls;
  /** The generated lesion PNG, for upload tests. */
  lesionPng: Buffer;
  lesionJpeg: Buffer;
  gif: Buffer;
  /** All requests both servers have seen, in order. */
  log: LoggedRequest[];
  /**
   * Holds the main server's responses to `path` until release() (or MAX_HOLD_MS), so a test can act
   * while the extension is still waiting for the image, instead of racing it.
   */
  hold(path: string): HeldRoute;
  close(): Promise<void>;
}

export interface HeldRoute {
  /** The first request for the path since hold(), once it has arrived (its response is being held). */
  arrived: Promise<LoggedRequest>;
  /** Sends the held responses (and every later one at once); returns Date.now() when released. */
  release(): number;
  /** When release() ran (undefined while held). */
  releasedAt(): number | undefined;
}

/** A hold a test forgot to release ends by itself, so no request hangs past the test. */
const MAX_HOLD_MS = 20_000;

export interface FixtureUrls {
  page: string;
  /** A page whose iframe comes from the other host (cross-site frame). */
  iframePage: string;
  /** A page whose iframe is from the same origin. */
  sameOriginIframePage: string;
  brokenPage: string;
  lesionPng: string;
  lesionJpeg: string;
  /** The lesion PNG at a path of its own, whose responses a test can hold (FixtureServer.hold). */
  heldLesionPng: string;
  crossOriginJpeg: string;
  /** A page on the main origin showing otherPortJpeg. */
  otherPortPage: string;
  /** The cross-origin image served from the page's host on the other port. */
  otherPortJpeg: string;
  dataUrl: string;
  /** The framed image on the other host (in iframePage). */
  frameImage: string;
  /** The framed image on the page's origin (in sameOriginIframePage). */
  sameOriginFrameImage: string;
  missing: string;
  corruptJpeg: string;
  htmlAsPng: string;
  hugePng: string;
  hugeDeclaredJpeg: string;
}

const HTML = 'text/html; charset=utf-8';

function page(title: string, body: string): Buffer {
  return Buffer.from(
    `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title>` +
      // An empty inline favicon: no /favicon.ico request muddies the request log.
      `<link rel="icon" href="data:,">` +
      `<style>body{font-family:sans-serif;margin:16px;background:#fff} img{display:block;margin:8px 0;width:240px}</style>` +
      `</head><body><h1>${title}</h1>${body}</body></html>`,
  );
}

async function buildResources(otherOrigin: string, otherPortOrigin: string) {
  const lesion = generateLesion({ width: 320, height: 240, seed: 7 });
  const lesionPng = await encodePng(lesion);
  const lesionJpeg = await encodeJpeg(lesion);
  const crossLesion = await encodeJpeg(generateLesion({ width: 300, height: 225, seed: 11 }));
  const frameLesion = await encodePng(generateLesion({ width: 200, height: 150, seed: 13 }));
  const small = generateLesion({ width: 48, height: 36, seed: 17 });
  const dataUrl = `data:image/png;base64,${(await encodePng(small)).toString('base64')}`;
  const gif = await encodeGif(small);

  const main = new Map<string, Resource>();
  const other = new Map<string, Resource>();
  main.set('/page.html', {
    contentType: HTML,
    body: page(
      'DermLens fixture page',
      `<img id="lesion-png" src="/lesion.png" alt="lesion png">` +
        `<img id="lesion-jpg" src="/lesion.jpg" alt="lesion jpeg">` +
        `<img id="cross-origin" src="${otherOrigin}/cross-lesion.jpg" alt="cross-origin lesion">` +
        `<img id="data-url" src="${dataUrl}" alt="data url lesion">`,
    ),
  });
  main.set('/other-port.html', {
    contentType: HTML,
    body: page('Image on another port', `<img id="other-port" src="${otherPortOrigin}/cross-lesion.jpg" alt="lesion on another port">`),
  });
  main.set('/iframe.html', {
    contentType: HTML,
    body: page('Page with an iframe', `<iframe id="frame" src="${otherOrigin}/frame.html" width="400" height="300"></iframe>`),
  });
  main.set('/iframe-same-origin.html', {
    contentType: HTML,
    body: page('Page with a same-origin iframe', `<iframe id="frame" src="/frame.html" width="400" height="300"></iframe>`),
  });
  const framePage: Resource = {
    contentType: HTML,
    body: page('Framed page', `<img id="frame-image" src="/frame-lesion.png" alt="framed lesion">`),
  };
  main.set('/frame.html', framePage);
  other.set('/frame.html', framePage);
  // Broken images are present in the page as the user would see them. The huge one is lazy and far
  // below the fold so the page itself never decodes 576 MB; only the extension is asked to.
  main.set('/broken.html', {
    contentType: HTML,
    body: page(
      'Broken images',
      `<img id="lesion-png" src="/lesion.png" alt="good lesion">` +
        `<img id="missing" src="/missing.png" alt="404">` +
        `<img id="corrupt" src="/corrupt.jpg" alt="corrupt">` +
        `<img id="html-as-png" src="/not-an-image.png" alt="html">` +
        `<img id="huge-declared" src="/huge-declared.jpg" alt="declares 60000x60000">` +
        `<div style="height:20000px"></div>` +
        `<img id="huge" src="/huge.png" loading="lazy" alt="12000x12000">`,
    ),
  });
  // The card layout pages (layout.test.ts, npm run screenshots). DERMLENS_LAYOUT_PHOTO may name a real
  // dermoscopy JPEG for the screenshots; the tests use the generated lesion.
  for (const [name, html] of Object.entries(LAYOUT_PAGES)) main.set(`/layout/${name}.html`, { contentType: HTML, body: Buffer.from(html) });
  const photo = process.env.DERMLENS_LAYOUT_PHOTO;
  main.set('/layout/photo.jpg', {
    contentType: 'image/jpeg',
    body: photo ? readFileSync(photo) : await encodeJpeg(generateLesion({ width: 600, height: 450, seed: 7 })),
  });
  main.set('/lesion.png', { contentType: 'image/png', body: lesionPng });
  main.set('/lesion.jpg', { contentType: 'image/jpeg', body: lesionJpeg });
  main.set('/held-lesion.png', { contentType: 'image/png', body: lesionPng });
  main.set('/corrupt.jpg', { contentType: 'image/jpeg', body: corruptJpegBytes() });
  main.set('/not-an-image.png', { contentType: 'image/png', body: page('Not an image', '<p>This is HTML served as image/png.</p>') });
  main.set('/huge.png', { contentType: 'image/png', body: solidPalettePng(12000, 12000, [222, 170, 140]) });
  main.set('/huge-declared.jpg', { contentType: 'image/jpeg', body: withDeclaredJpegSize(lesionJpeg, 60000, 60000) });
  other.set('/cross-lesion.jpg', { contentType: 'image/jpeg', body: crossLesion });
  main.set('/frame-lesion.png', { contentType: 'image/png', body: frameLesion });
  other.set('/frame-lesion.png', { contentType: 'image/png', body: frameLesion });
  return { main, other, lesionPng, lesionJpeg, gif, dataUrl };
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

export async function startFixtureServer(): Promise<FixtureServer> {
  const log: LoggedRequest[] = [];
  let resources: Awaited<ReturnType<typeof buildResources>> | undefined;
  /** Paths of the main server whose responses wait for a gate, and who waits for the first request. */
  const holds = new Map<string, { gate: Promise<void>; onArrival: (request: LoggedRequest) => void }>();
  const releases: (() => void)[] = [];
  const handler = (name: 'main' | 'other') => async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const header = (h: string) => {
      const value = req.headers[h];
      return Array.isArray(value) ? value.join(',') : value;
    };
    const entry: LoggedRequest = {
      server: name,
      method: req.method ?? 'GET',
      path,
      url: `http://${req.headers.host}${req.url}`,
      secFetchDest: header('sec-fetch-dest'),
      secFetchMode: header('sec-fetch-mode'),
      secFetchSite: header('sec-fetch-site'),
      origin: header('origin'),
      at: Date.now(),
    };
    log.push(entry);
    const held = name === 'main' ? holds.get(path) : undefined;
    if (held) {
      held.onArrival(entry);
      await held.gate;
    }
    const resource = resources?.[name].get(path);
    if (!resource) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    // Deliberately no Access-Control-Allow-Origin anywhere, and no caching headers.
    res.writeHead(resource.status ?? 200, { 'content-type': resource.contentType, 'content-length': resource.body.length });
    res.end(req.method === 'HEAD' ? undefined : resource.body);
  };
  const mainServer = createServer(handler('main'));
  const otherServer = createServer(handler('other'));
  const mainPort = await listen(mainServer);
  const otherPort = await listen(otherServer);
  const origin = `http://127.0.0.1:${mainPort}`;
  // 'localhost' reaches the same loopback listener but is a different host (and site) than
  // 127.0.0.1, as an image CDN would be. Chromium and Node's fetch both resolve it without DNS.
  const otherOrigin = `http://localhost:${otherPort}`;
  // The same listener reached as 127.0.0.1: the page's host, another port, so another origin.
  const otherPortOrigin = `http://127.0.0.1:${otherPort}`;
  resources = await buildResources(otherOrigin, otherPortOrigin);
  const closeServer = (s: Server) =>
    new Promise<void>((resolve) => {
      s.closeAllConnections();
      s.close(() => resolve());
    });
  return {
    origin,
    otherOrigin,
    otherPortOrigin,
    lesionPng: resources.lesionPng,
    lesionJpeg: resources.lesionJpeg,
    gif: resources.gif,
    log,
    urls: {
      page: `${origin}/page.html`,
      iframePage: `${origin}/iframe.html`,
      sameOriginIframePage: `${origin}/iframe-same-origin.html`,
      brokenPage: `${origin}/broken.html`,
      lesionPng: `${origin}/lesion.png`,
      lesionJpeg: `${origin}/lesion.jpg`,
      heldLesionPng: `${origin}/held-lesion.png`,
      crossOriginJpeg: `${otherOrigin}/cross-lesion.jpg`,
      otherPortPage: `${origin}/other-port.html`,
      otherPortJpeg: `${otherPortOrigin}/cross-lesion.jpg`,
      dataUrl: resources.dataUrl,
      frameImage: `${otherOrigin}/frame-lesion.png`,
      sameOriginFrameImage: `${origin}/frame-lesion.png`,
      missing: `${origin}/missing.png`,
      corruptJpeg: `${origin}/corrupt.jpg`,
      htmlAsPng: `${origin}/not-an-image.png`,
      hugePng: `${origin}/huge.png`,
      hugeDeclaredJpeg: `${origin}/huge-declared.jpg`,
    },
    hold(path) {
      let open!: () => void;
      const gate = new Promise<void>((resolve) => {
        open = resolve;
      });
      let arrive!: (request: LoggedRequest) => void;
      const arrived = new Promise<LoggedRequest>((resolve) => {
        arrive = resolve;
      });
      let releasedAt: number | undefined;
      const release = () => {
        if (releasedAt === undefined) {
          releasedAt = Date.now();
          if (holds.get(path)?.gate === gate) holds.delete(path);
          open();
        }
        return releasedAt;
      };
      const cap = setTimeout(release, MAX_HOLD_MS);
      void gate.then(() => clearTimeout(cap));
      holds.set(path, { gate, onArrival: arrive });
      releases.push(release);
      return { arrived, release, releasedAt: () => releasedAt };
    },
    close: async () => {
      for (const release of releases) release(); // no held handler (or its cap timer) outlives the server
      await Promise.all([closeServer(mainServer), closeServer(otherServer)]);
    },
  };
}
