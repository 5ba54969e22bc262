// npm run screenshots:vscode: every state of the VS Code extension a person sees, in a real VS Code
// (code-server, as in test/vscode/), written to screenshots/vscode-*.png: the card for a HAM10000 image
// (from ../shared/ham10000 when present: not committed, CC BY-NC) with "where it looked" on, the gate's
// notice for a non-dermoscopic picture, a refused SVG, the folder table, the training task's terminal.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Page } from 'puppeteer-core';
import { builtVsix, codeServerBinary, startVsCode } from '../test/vscode/code-server.ts';
import { explorerMenu, inWebview, settledState } from '../test/vscode/workbench.ts';
import { workspaceFiles } from '../test/vscode/fixtures.ts';

const HAM = resolve('../shared/ham10000/images');
const OUT = resolve('screenshots');

const host = codeServerBinary();
if ('skip' in host) {
  console.error(`screenshots:vscode: ${host.skip}`);
  process.exit(1);
}
const files = await workspaceFiles();
const ham = ['ISIC_0030623.jpg', 'ISIC_0024306.jpg'].filter((f) => existsSync(resolve(HAM, f)));
if (ham.length === 0) console.log(`no HAM10000 images in ${HAM}: the card is shown for generated pictures only`);
for (const f of ham) files[f] = readFileSync(resolve(HAM, f));
await mkdir(OUT, { recursive: true });
const vs = await startVsCode(host.path, builtVsix(), { files });

async function shot(name: string): Promise<void> {
  await new Promise((r) => setTimeout(r, 600)); // let the webview paint
  const path = resolve(OUT, `vscode-${name}.png`);
  await vs.page.screenshot({ path });
  console.log(path);
}

async function card(page: Page, file: string, name: string, heatmap = false): Promise<void> {
  await explorerMenu(page, file, 'Classify skin lesion');
  for (;;) {
    const data = await settledState(page, 'dermlens-vscode-result', ['result', 'error']);
    if (data.file === file) break;
  }
  if (heatmap) {
    const { element } = await inWebview(page, 'dermlens-vscode-result');
    await element.evaluate((e) =>
      (e.shadowRoot!.querySelector('dermlens-card')!.shadowRoot!.querySelector('.heatmap-toggle') as HTMLElement | null)?.click(),
    );
  }
  await shot(name);
}

try {
  for (const [i, f] of ham.entries()) await card(vs.page, f, `card-ham-${i + 1}`, i === 0);
  await card(vs.page, 'landscape.png', 'card-not-dermoscopic');
  await card(vs.page, 'drawing.svg', 'card-refused-svg');
  await explorerMenu(vs.page, 'batch', 'Classify skin lesions in folder');
  await settledState(vs.page, 'dermlens-folder-table', ['done']);
  await shot('folder-table');
} finally {
  await vs.close();
}
