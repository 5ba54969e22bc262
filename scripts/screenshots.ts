// npm run screenshots [-- --out screenshots] [--photo <dermoscopy.jpg>]
// Loads the built extension in headless Chromium and writes a PNG of each state of the result card and
// popup, for a reviewer to look at: the card beside a photo in an article, with "where it looked" on,
// under page zoom, for a photo low in the window, in 560 and 360 px windows, on a page with hostile CSS;
// the popup's result (with and without the heatmap) in Chrome's 600 px popup size, its "About the model";
// the card's advice for each kind of result (melanoma alert, another cancer, akiec, benign); and the
// popup for a photo the dermoscopy gate flags, before and after "Show the result anyway"; the camera view
// before the shot (Chromium's fake camera playing the tests' lesion clip) and after it, and the popup's
// "ordinary photo of skin" notice for a camera photo (that verdict and the model card's figures put in by
// hand when the built model's gate is the older two-way one, which never says "clinical").
// The photo: --photo, else the first HAM10000 image under ../shared/ham10000 (not committed: CC BY-NC),
// else the tests' generated lesion.
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Page } from 'puppeteer-core';

const { values } = parseArgs({ options: { out: { type: 'string' }, photo: { type: 'string' } } });
const outDir = resolve(values.out ?? 'screenshots');
const hamImages = resolve('../shared/ham10000/images');
const photo = values.photo ?? (existsSync(hamImages) ? join(hamImages, 'ISIC_0024306.jpg') : undefined);
if (photo && existsSync(photo)) process.env.DERMLENS_LAYOUT_PHOTO = photo;
else if (existsSync(hamImages))
  process.env.DERMLENS_LAYOUT_PHOTO = join(
    hamImages,
    readdirSync(hamImages).find((f) => f.endsWith('.jpg'))!,
  );
mkdirSync(outDir, { recursive: true });

// After the environment is set: the fixture server reads DERMLENS_LAYOUT_PHOTO when it starts.
const { startFixtureServer } = await import('../test/e2e/fixture-server.ts');
const { launchWithExtension } = await import('../test/e2e/harness.ts');
const { clickInCard, showCardOn, uploadToPopup } = await import('../test/e2e/card-geometry.ts');
const { writeFakeCameraClip } = await import('../test/e2e/fixtures/fake-camera.ts');
const { waitForDeepSelector } = await import('../test/e2e/harness.ts');
// The browser tests' sample figures, for a built model whose card has none (its gate is the two-way one).
const { CLINICAL_FIGURES } = await import('../test/browser/helpers.ts');

const written: string[] = [];
async function shot(page: Page, name: string, fullPage = false): Promise<void> {
  const path = join(outDir, `${name}.png`);
  await page.screenshot({ path, fullPage });
  written.push(path);
}

const server = await startFixtureServer();
const session = await launchWithExtension({ fakeVideo: writeFakeCameraClip({ width: 640, height: 480 }) });
const fixture = { server, session };
try {
  const pages: [string, string, { width: number; height: number }, ((p: Page) => Promise<void>)?][] = [
    ['card-article', 'article', { width: 1280, height: 800 }],
    ['card-zoom-160', 'zoom', { width: 1280, height: 800 }],
    [
      'card-photo-low-in-window',
      'end-of-page',
      { width: 1280, height: 720 },
      (p) =>
        p.evaluate(() => {
          window.scrollTo(0, document.getElementById('photo')!.getBoundingClientRect().top + window.scrollY - window.innerHeight * 0.75);
        }),
    ],
    [
      'card-window-560',
      'wide',
      { width: 560, height: 900 },
      (p) =>
        p.evaluate(() => {
          window.scrollTo(0, document.getElementById('photo')!.getBoundingClientRect().top + window.scrollY - 8);
        }),
    ],
    ['card-window-360', 'article', { width: 360, height: 640 }],
    ['card-hostile-css', 'hostile', { width: 1280, height: 800 }],
  ];
  for (const [name, page, viewport, prepare] of pages) {
    const { page: tab } = await showCardOn(fixture, page, viewport, prepare);
    await shot(tab, name);
    if (name === 'card-article') {
      await clickInCard(tab, '.heatmap-toggle');
      await shot(tab, 'card-article-where-it-looked');
    }
    await tab.close();
  }

  const popup = await session.openPopup();
  await popup.setViewport({ width: 380, height: 600 });
  await uploadToPopup(
    popup,
    process.env.DERMLENS_LAYOUT_PHOTO ? readFileSync(process.env.DERMLENS_LAYOUT_PHOTO) : server.lesionJpeg,
    'photo.jpg',
  );
  await shot(popup, 'popup-result');
  await popup.evaluate(() =>
    document
      .querySelector('dermlens-popup')!
      .shadowRoot!.querySelector('dermlens-card')!
      .shadowRoot!.querySelector<HTMLButtonElement>('.heatmap-toggle')!
      .click(),
  );
  await shot(popup, 'popup-where-it-looked');
  await popup.evaluate(() =>
    (document.querySelector('dermlens-popup')!.shadowRoot!.querySelector('#tab-about') as HTMLButtonElement).click(),
  );
  await shot(popup, 'popup-about-the-model', true);

  // The advice for each kind of result, on the popup's own <dermlens-card> (results made up here:
  // the photo above gives one kind only).
  const kinds: [string, number[]][] = [
    ['advice-melanoma-alert', [0.04, 0.03, 0.2, 0.01, 0.3, 0.4, 0.02]],
    ['advice-basal-cell-carcinoma', [0.1, 0.62, 0.08, 0.05, 0.05, 0.08, 0.02]],
    ['advice-akiec-pre-cancer', [0.58, 0.2, 0.05, 0.03, 0.12, 0.01, 0.01]],
    ['advice-benign', [0.0004, 0.01, 0.06, 0.0006, 0.05, 0.869, 0.01]],
  ];
  // Back to the result first, and let the popup render, or its render would put its own result back.
  await popup.evaluate(() =>
    (document.querySelector('dermlens-popup')!.shadowRoot!.querySelector('#tab-classify') as HTMLButtonElement).click(),
  );
  await new Promise((r) => setTimeout(r, 200));
  // Heatmap off: these made-up results have none.
  await popup.evaluate(() =>
    document
      .querySelector('dermlens-popup')!
      .shadowRoot!.querySelector('dermlens-card')!
      .shadowRoot!.querySelector<HTMLButtonElement>('.heatmap-toggle')!
      .click(),
  );
  await new Promise((r) => setTimeout(r, 100));
  for (const [name, probabilities] of kinds) {
    await popup.evaluate((p: number[]) => {
      const root = document.querySelector('dermlens-popup')!.shadowRoot!;
      const card = root.querySelector('dermlens-card') as unknown as HTMLElement & {
        result: { predictions: { code: string; probability: number }[] } & Record<string, unknown>;
      };
      const codes = ['akiec', 'bcc', 'bkl', 'df', 'mel', 'nv', 'vasc'];
      const old = card.result;
      const predictions = codes
        .map((code, i) => ({ ...old.predictions.find((q) => q.code === code)!, probability: p[i] }))
        .sort((a, b) => b.probability - a.probability);
      const concerning = p[0] + p[1] + p[4];
      card.result = {
        ...old,
        predictions,
        top: predictions[0].code,
        concerningProbability: concerning,
        melanomaAlert: p[4] >= (old.melanomaThreshold as number),
        heatmap: undefined,
      };
    }, probabilities);
    await new Promise((r) => setTimeout(r, 100));
    await shot(popup, name);
  }
  await popup.close();

  // A photo the dermoscopy gate flags (the pretrained model's check photo of an owl, else the tests'
  // generated lesion, which it flags too): the notice first, then "Show the result anyway" opened.
  const owl = resolve('../shared/pretrained/mobilenet_v2_imagenet/check/owl.jpg');
  const flagged = await session.openPopup();
  await flagged.setViewport({ width: 380, height: 600 });
  await uploadToPopup(flagged, existsSync(owl) ? readFileSync(owl) : server.lesionJpeg, 'owl.jpg');
  await shot(flagged, 'popup-not-dermoscopic');
  await shotShownAnyway(flagged, 'popup-not-dermoscopic-shown-anyway');
  await flagged.close();

  await cameraShots();
} finally {
  await session.close();
  await server.close();
}

/** Opens the popup card's "Show the result anyway" and takes the whole page. */
async function shotShownAnyway(page: Page, name: string): Promise<void> {
  await page.evaluate(() =>
    document
      .querySelector('dermlens-popup')!
      .shadowRoot!.querySelector('dermlens-card')!
      .shadowRoot!.querySelector<HTMLElement>('details[data-part="show-anyway"] summary')
      ?.click(),
  );
  await new Promise((r) => setTimeout(r, 100));
  await shot(page, name, true);
}

/** The camera: the advice before the shot, the note after it, and the popup for a camera photo named "clinical". */
async function cameraShots(): Promise<void> {
  await session.browser
    .defaultBrowserContext()
    .setPermission(`chrome-extension://${session.extensionId}`, { permission: { name: 'camera' }, state: 'granted' });
  const popup = await session.openPopup();
  await popup.setViewport({ width: 380, height: 600 });
  await (await waitForDeepSelector(popup, 'dermlens-popup >>> .sources button::-p-text(Camera)')).click();
  await shot(popup, 'popup-camera-idle');
  await (await waitForDeepSelector(popup, 'dermlens-popup >>> dermlens-camera >>> button::-p-text(Start camera)')).click();
  const video = await waitForDeepSelector(popup, 'dermlens-popup >>> dermlens-camera >>> video');
  await popup.waitForFunction((v: Element) => (v as HTMLVideoElement).videoWidth > 0, { timeout: 10_000 }, video);
  await shot(popup, 'popup-camera-before-shot');
  await (await waitForDeepSelector(popup, 'dermlens-popup >>> dermlens-camera >>> button::-p-text(Take photo)')).click();
  await waitForDeepSelector(popup, 'dermlens-popup >>> [data-part="camera-after-shot"]');
  await new Promise((r) => setTimeout(r, 200));
  await shot(popup, 'popup-camera-after-shot');
  // The same photo as the three-way gate names an ordinary photo of skin.
  await popup.evaluate((sample: Record<string, unknown>) => {
    const el = document.querySelector('dermlens-popup') as unknown as HTMLElement & {
      result: Record<string, unknown> & { dermoscopy: Record<string, unknown> | null };
      modelCard: Record<string, unknown> | null;
    };
    const clinicalPhotos = (el.modelCard?.clinicalPhotos as Record<string, unknown> | undefined) ?? sample;
    el.result = {
      ...el.result,
      heatmap: undefined,
      dermoscopy: { score: 0.12, threshold: 0.93, dermoscopic: false, kind: 'clinical', clinicalScore: 0.88, clinicalThreshold: 0.5 },
      clinicalPhotos,
    };
    el.modelCard = el.modelCard && { ...el.modelCard, clinicalPhotos };
  }, CLINICAL_FIGURES);
  await new Promise((r) => setTimeout(r, 200));
  await shot(popup, 'popup-camera-clinical-photo');
  await shotShownAnyway(popup, 'popup-camera-clinical-photo-shown-anyway');
  await popup.close();
}
console.log(`wrote ${written.length} screenshots:\n${written.map((p) => `  ${p}`).join('\n')}`);
