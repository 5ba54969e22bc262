// Images that cannot be classified: each gives a clear, readable error on the card, and the
// extension still works for the next image.
import { test } from 'node:test';
import { useExtensionPage } from './harness.ts';
import { assertReadableError, assertResult } from './assertions.ts';

const e2e = useExtensionPage((urls) => urls.brokenPage);

async function expectErrorThenRecovery(srcUrl: string, about: RegExp) {
  assertReadableError(await e2e.classify(srcUrl, 60_000), about);
  assertResult(await e2e.classify(e2e.server.urls.lesionPng, 60_000));
}

test('404: clear error, then the next image works', async () => {
  await expectErrorThenRecovery(e2e.server.urls.missing, /404|not found|could not (load|fetch|download)/i);
});

test('corrupt bytes served as image/jpeg: clear error, then the next image works', async () => {
  await expectErrorThenRecovery(e2e.server.urls.corruptJpeg, /decode|corrupt|damaged|invalid|read|unsupported|not a (valid|supported)/i);
});

test('HTML served as image/png: clear error, then the next image works', async () => {
  await expectErrorThenRecovery(
    e2e.server.urls.htmlAsPng,
    /decode|corrupt|damaged|invalid|read|unsupported|not an? (valid |supported )?image/i,
  );
});

test('12000x12000 PNG: clear error, then the next image works', async () => {
  await expectErrorThenRecovery(e2e.server.urls.hugePng, /large|big|size|pixels|dimension|12000/i);
});

test('JPEG declaring 60000x60000: clear error, then the next image works', async () => {
  await expectErrorThenRecovery(
    e2e.server.urls.hugeDeclaredJpeg,
    /large|big|size|pixels|dimension|60000|decode|corrupt|damaged|invalid|truncated/i,
  );
});
