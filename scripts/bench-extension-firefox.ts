// The Firefox half of `npm run bench:extension -- --browser firefox`: the same measurements as Chrome's,
// in Debian's Firefox ESR with the real context menu (test/e2e-firefox/harness.ts).
//   cold: a fresh profile per launch, the first right-click (the event page runs, the model frame does not);
//   cold after suspension: the event page suspended as Firefox does after 30 s idle, then a right-click
//     (the model loads again: Firefox has no offscreen document that outlives the background);
//   warm: the same browser after the cold click; popup upload: as Chrome's (scripts/bench-popup.ts).
// Times run from the moment the menu item is chosen (Date.now() in the browser window) to the card's
// result state in the page (the same clock).
import type { Page } from 'puppeteer-core';
import { stateLog, waitForFinalState } from '../test/e2e/harness.ts';
import type { FixtureServer } from '../test/e2e/fixture-server.ts';
import { launchFirefox, type FirefoxSession } from '../test/e2e-firefox/harness.ts';
import { timePopupUploads } from './bench-popup.ts';

export interface FirefoxTimes {
  cold: number[];
  coldAfterSuspension: number[];
  warm: number[];
  popup: number[];
}

async function rightClick(session: FirefoxSession, page: Page, selector: string): Promise<number> {
  const before = (await stateLog(page)).length;
  const chosenAt = await session.chooseMenuItem(page, selector);
  const entry = await waitForFinalState(page, before, { timeout: 60_000 });
  if (entry.state !== 'result') throw new Error(`classification failed: ${entry.error}`);
  return entry.at - chosenAt;
}

export async function benchFirefox(server: FixtureServer, runs: { cold: number; warm: number; popup: number }): Promise<FirefoxTimes> {
  const times: FirefoxTimes = { cold: [], coldAfterSuspension: [], warm: [], popup: [] };
  for (let i = 0; i < runs.cold; i++) {
    const session = await launchFirefox();
    try {
      const page = await session.openPage(server.urls.page);
      times.cold.push(await rightClick(session, page, '#lesion-png'));
      if (i < runs.cold - 1) continue;
      for (let j = 0; j < runs.warm; j++) times.warm.push(await rightClick(session, page, j % 2 ? '#lesion-jpg' : '#lesion-png'));
      for (let j = 0; j < runs.cold; j++) {
        await session.terminateBackground();
        times.coldAfterSuspension.push(await rightClick(session, page, '#lesion-png'));
      }
      times.popup = await timePopupUploads(await session.openExtensionPage('popup.html'), server, runs.popup);
    } finally {
      await session.close();
    }
  }
  return times;
}
