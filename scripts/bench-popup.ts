// The popup-upload timing of `npm run bench:extension`, for Chrome's popup page and Firefox's alike.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ElementHandle, Page } from 'puppeteer-core';
import { stateLog, waitForDeepSelector, waitForFinalState } from '../test/e2e/harness.ts';
import type { FixtureServer } from '../test/e2e/fixture-server.ts';

/**
 * Times popup uploads in an open popup page: from the input's 'change' event to the popup's result state
 * (one untimed upload first: it also starts the model). Shared by the Chrome and Firefox benchmarks.
 */
export async function timePopupUploads(popup: Page, server: FixtureServer, count: number): Promise<number[]> {
  const dir = mkdtempSync(join(tmpdir(), 'dermlens-bench-'));
  const times: number[] = [];
  try {
    const input = (await waitForDeepSelector(popup, 'dermlens-popup >>> input[type=file]')) as ElementHandle<HTMLInputElement>;
    // Record when the file is chosen (capture phase on the input's root runs before the app's listener).
    await input.evaluate((el) => {
      const w = window as unknown as { __changeAt: number };
      (el.getRootNode() as ShadowRoot).addEventListener('change', () => (w.__changeAt = Date.now()), { capture: true });
    });
    // Alternate two files so every upload is a real change of the input.
    const files = [join(dir, 'a.png'), join(dir, 'b.jpg')];
    writeFileSync(files[0]!, server.lesionPng);
    writeFileSync(files[1]!, server.lesionJpeg);
    for (let i = 0; i <= count; i++) {
      const before = (await stateLog(popup)).length;
      await input.uploadFile(files[i % 2]!);
      const entry = await waitForFinalState(popup, before, { tag: 'dermlens-popup', timeout: 60_000 });
      if (entry.state !== 'result') throw new Error(`popup classification failed: ${entry.error}`);
      const changeAt = await popup.evaluate(() => (window as unknown as { __changeAt: number }).__changeAt);
      if (i > 0) times.push(entry.at - changeAt);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return times;
}
