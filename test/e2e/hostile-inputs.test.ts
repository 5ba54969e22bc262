// The extension's side of "every input gets the same answer": the good and hostile files of
// test/helpers/hostile-images.ts, right-clicked on a page (served with plausible, often wrong,
// Content-Types) and uploaded in the popup. Each refused file gets exactly the message of the table,
// which is the CLI's (test/node/classify-hostile.test.ts), and each accepted file gets the CLI's
// probabilities (so both decoded the same upright picture: EXIF orientation, a GIF's first frame, BMP).
import { after, test } from 'node:test';
import { join } from 'node:path';
import type { ElementHandle, Page } from 'puppeteer-core';
import { stateLog, useExtensionPage, waitForDeepSelector, waitForFinalState } from './harness.ts';
import { assertSameAnswer, startHostileFixture, stopHostileFixture } from './hostile-fixture.ts';

const e2e = useExtensionPage((urls) => urls.page, { grantedHosts: ['http://127.0.0.1/*'] });

/** Started at load and awaited by each test (a second top-level before() would not be waited for; see harness.ts). */
const ready = startHostileFixture('cpu');

after(async () => stopHostileFixture(await ready));

test("right-click: every file gets the CLI's answer, whatever its Content-Type says", { timeout: 300_000 }, async () => {
  const { cases, cli, origin } = await ready;
  for (const c of cases) {
    assertSameAnswer(cli, c, await e2e.classify(`${origin}/${encodeURIComponent(c.name)}`, 60_000), (expected) => expected);
  }
});

test('popup upload: every file gets the CLI\'s answer, as "<file name>: <message>"', { timeout: 300_000 }, async () => {
  const { cases, cli, dir } = await ready;
  const popup: Page = await e2e.session.openPopup();
  for (const c of cases) {
    const input = (await waitForDeepSelector(popup, 'dermlens-popup >>> input[type=file]')) as ElementHandle<HTMLInputElement>;
    const before = (await stateLog(popup)).length;
    await input.uploadFile(join(dir, c.name));
    assertSameAnswer(
      cli,
      c,
      await waitForFinalState(popup, before, { tag: 'dermlens-popup', timeout: 60_000 }),
      (expected) => `${c.name}: ${expected}`,
    );
  }
});
