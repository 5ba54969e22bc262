// The Firefox half of `npm run bench:extension -- --browser firefox`: the same measurements as Chrome's,
// in Debian's Firefox ESR with the real context menu (test/e2e-firefox/harness.ts).
//   cold: a fresh profile per launch, the first right-click (the event page runs, the model frame does not);
//   cold after suspension: the event page suspended as Firefox does after 30 s idle, then a right-click
//     (the model loads again: Firefox has no offscreen document that outlives the background);
//   warm: the same browser after the cold click; popup upload: as Chrome's (scripts/bench-popup.ts);
//   warm, chosen-item blink off: another browser with ui.chosenMenuItemsShouldBlink 0 (see warmNoBlink).
// Times run from the moment the menu item is chosen (Date.now() in the browser window) to the card's
// result state in the page (the same clock); and, as Chrome's are timed (from the start of the click
// handler), from menus.onClicked in the event page (the test build logs it), which leaves out Firefox's
// own dispatch of the menu click.
import type { Page } from 'puppeteer-core';
import { stateLog, waitForFinalState } from '../test/e2e/harness.ts';
import type { FixtureServer } from '../test/e2e/fixture-server.ts';
import { launchFirefox, type FirefoxSession } from '../test/e2e-firefox/harness.ts';
import { timePopupUploads } from './bench-popup.ts';

/** Right-click times in ms: from the menu choice, and from menus.onClicked in the event page. */
export interface ClickTimes {
  fromChoice: number[];
  fromOnClicked: number[];
}

export interface FirefoxTimes {
  cold: ClickTimes;
  coldAfterSuspension: ClickTimes;
  warm: ClickTimes;
  /**
   * Warm again, in a browser that does not flash the chosen menu item: headless Firefox (like macOS) blinks
   * it for about 140 ms before it dispatches the click (measured: menu choice -> menus.onClicked 141 ms with
   * ui.chosenMenuItemsShouldBlink 1, 6 ms with 0), time that passes before any add-on code runs.
   */
  warmNoBlink: ClickTimes;
  popup: number[];
}

/** The pref that turns the chosen menu item's blink off (see FirefoxTimes.warmNoBlink). */
export const NO_BLINK_PREFS = { 'ui.chosenMenuItemsShouldBlink': 0 };

const CLICKED = /dermlens-test: menus\.onClicked at (\d+)/;

async function rightClick(session: FirefoxSession, page: Page, selector: string, into: ClickTimes): Promise<void> {
  const before = (await stateLog(page)).length;
  const outputBefore = session.output.length;
  const chosenAt = await session.chooseMenuItem(page, selector);
  const entry = await waitForFinalState(page, before, { timeout: 60_000 });
  if (entry.state !== 'result') throw new Error(`classification failed: ${entry.error}`);
  const clicked = session.output
    .slice(outputBefore)
    .map((line) => CLICKED.exec(line))
    .find(Boolean);
  if (!clicked) throw new Error('the test build did not log menus.onClicked: is dist-test-firefox/ a test build?');
  into.fromChoice.push(entry.at - chosenAt);
  into.fromOnClicked.push(entry.at - Number(clicked[1]));
}

export async function benchFirefox(server: FixtureServer, runs: { cold: number; warm: number; popup: number }): Promise<FirefoxTimes> {
  const clicks = (): ClickTimes => ({ fromChoice: [], fromOnClicked: [] });
  const times: FirefoxTimes = { cold: clicks(), coldAfterSuspension: clicks(), warm: clicks(), warmNoBlink: clicks(), popup: [] };
  for (let i = 0; i < runs.cold; i++) {
    const session = await launchFirefox();
    try {
      const page = await session.openPage(server.urls.page);
      await rightClick(session, page, '#lesion-png', times.cold);
      if (i < runs.cold - 1) continue;
      for (let j = 0; j < runs.warm; j++) await rightClick(session, page, j % 2 ? '#lesion-jpg' : '#lesion-png', times.warm);
      for (let j = 0; j < runs.cold; j++) {
        await session.terminateBackground();
        await rightClick(session, page, '#lesion-png', times.coldAfterSuspension);
      }
      times.popup = await timePopupUploads(await session.openExtensionPage('popup.html'), server, runs.popup);
    } finally {
      await session.close();
    }
  }
  const session = await launchFirefox({ prefs: NO_BLINK_PREFS });
  try {
    const page = await session.openPage(server.urls.page);
    await rightClick(session, page, '#lesion-png', clicks()); // the cold click, not counted
    for (let j = 0; j < runs.warm; j++) await rightClick(session, page, j % 2 ? '#lesion-jpg' : '#lesion-png', times.warmNoBlink);
  } finally {
    await session.close();
  }
  return times;
}
