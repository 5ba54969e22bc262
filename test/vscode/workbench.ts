// Driving the VS Code workbench like a person: the command palette (F1, type the title, Enter), the
// Explorer's context menu (right-click, hover the entry, Enter: a click on it did not trigger it), and
// reading what a webview shows (webviews are nested iframes: search every frame for the element).
import type { ElementHandle, Frame, Page } from 'puppeteer-core';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Retries `attempt` until it returns a value (not undefined/false) or `timeoutMs` passes. */
export async function eventually<T>(what: string, attempt: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await attempt();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastError ? `: ${lastError}` : ''}`);
    await sleep(250);
  }
}

/**
 * Runs a command from the palette by its title (e.g. 'DermLens: Classify skin lesion'). The extension's
 * commands appear a few seconds after the workbench loads, so it retries until the palette lists it.
 */
export async function runCommand(page: Page, title: string): Promise<void> {
  await eventually(`"${title}" in the command palette`, async () => {
    await page.keyboard.press('Escape');
    await page.keyboard.press('F1');
    const input = await page.waitForSelector('.quick-input-widget input', { visible: true, timeout: 5000 });
    await input!.type(title);
    const found = await page
      .waitForFunction(
        (t) =>
          [...document.querySelectorAll('.quick-input-widget .monaco-list-row')].some((r) =>
            (r.getAttribute('aria-label') ?? r.textContent ?? '').includes(t),
          ),
        { timeout: 3000 },
        title,
      )
      .then(
        () => true,
        () => false,
      );
    if (!found) return false;
    await page.keyboard.press('Enter');
    return true;
  });
}

/** The Explorer row of a workspace file or folder (by its name). */
export async function explorerRow(page: Page, name: string): Promise<ElementHandle<Element>> {
  return eventually(
    `${name} in the Explorer`,
    async () => (await page.$(`.explorer-folders-view .monaco-list-row[aria-label="${name}"]`)) ?? undefined,
  );
}

/**
 * Right-clicks `name` in the Explorer and triggers the context-menu entry labelled `entry`; resolves to
 * the Date.now() at which the entry was triggered (for benchmarks).
 */
export async function explorerMenu(page: Page, name: string, entry: string): Promise<number> {
  return eventually(`"${entry}" in the Explorer context menu of ${name}`, async () => {
    await page.keyboard.press('Escape');
    const row = await explorerRow(page, name);
    await row.click({ button: 'right' });
    const items = await page.waitForSelector('>>> .monaco-menu .action-label', { timeout: 3000 }).then(
      () => page.$$('>>> .monaco-menu .action-label'),
      () => [],
    );
    for (const item of items) {
      if ((await item.evaluate((e) => e.textContent?.trim())) === entry) {
        await item.hover();
        const triggered = Date.now();
        await page.keyboard.press('Enter');
        return triggered;
      }
    }
    return false; // the extension's entries are not there yet
  });
}

/** The first frame (of the page's nested webview iframes) holding `selector`, and the element. */
export async function inWebview(
  page: Page,
  selector: string,
  timeoutMs = 60_000,
): Promise<{ frame: Frame; element: ElementHandle<Element> }> {
  return eventually(
    `${selector} in a webview`,
    async () => {
      for (const frame of page.frames()) {
        if (frame.detached) continue;
        // A hidden webview's frame can leave a query pending for good: give each frame a moment only.
        // (frame.$ itself stayed pending in the frame of a second webview; evaluate did not.)
        const handle = await Promise.race([
          frame.evaluateHandle((s) => document.querySelector(s), selector).catch(() => null),
          sleep(1000).then(() => null),
        ]);
        const element = handle?.asElement() as ElementHandle<Element> | null | undefined;
        if (element) return { frame, element };
        await handle?.dispose();
      }
      return undefined;
    },
    timeoutMs,
  );
}

/** Waits until the element's data-state is one of `states`, and returns its data-* attributes. */
export async function settledState(page: Page, selector: string, states: string[], timeoutMs = 60_000): Promise<Record<string, string>> {
  return eventually(
    `${selector} to reach data-state ${states.join('|')}`,
    async () => {
      const { element } = await inWebview(page, selector, timeoutMs);
      const data = await element.evaluate((e) => ({ ...(e as HTMLElement).dataset }) as Record<string, string>);
      return states.includes(data.state ?? '') ? data : undefined;
    },
    timeoutMs,
  );
}

/** The text of every notification toast on screen. */
export async function notifications(page: Page): Promise<string[]> {
  return page.$$eval('.notification-toast .notification-list-item-message', (els) => els.map((e) => e.textContent ?? ''));
}
