// End to end in a real VS Code (code-server, see code-server.ts): the .vsix that `npm run build` packs,
// installed into a fresh profile, driven through the command palette, the Explorer's context menu and
// the editor title like a person would, and what its webviews show compared with the CLI's answer for
// the same files. One workbench for the whole file (its start-up is most of the time).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ClassifiedRecord, ClassifyRecord } from '../../core/classify-record.ts';
import { IMAGE_REFUSALS } from '../../core/image-check.ts';
import { CLASS_CODES } from '../../core/labels.ts';
import { builtVsix, codeServerBinary, startVsCode, type VsCode } from './code-server.ts';
import { cliRecords, workspaceFiles } from './fixtures.ts';
import { writeSyntheticHam } from '../node/helpers/synthetic-ham.ts';
import { eventually, explorerMenu, explorerRow, inWebview, notifications, runCommand, settledState } from './workbench.ts';

const host = codeServerBinary();
if ('skip' in host) console.log(`# skipping the VS Code end-to-end tests: ${host.skip}`);

const CARD = 'dermlens-vscode-result';
const TABLE = 'dermlens-folder-table';

/** CLI probabilities in CLASS_CODES order: the order of the card's data-probabilities. */
function cliProbabilities(record: ClassifyRecord): number[] {
  assert.ok('predictions' in record, `the CLI refused ${record.file}: ${'error' in record ? record.error : ''}`);
  return CLASS_CODES.map((code) => record.predictions.find((p) => p.code === code)!.probability);
}

/** The card's state once it has settled on a result or an error for `file`. */
async function cardFor(vs: VsCode, file: string): Promise<Record<string, string>> {
  return eventually(`the card for ${file}`, async () => {
    const data = await settledState(vs.page, CARD, ['result', 'error']);
    return data.file === file ? data : undefined;
  });
}

/** Text and parts of the card inside the result element (its shadow roots). */
async function cardContent(vs: VsCode) {
  const { element } = await inWebview(vs.page, CARD);
  return element.evaluate((host) => {
    const card = host.shadowRoot!.querySelector('dermlens-card')!.shadowRoot!;
    return {
      text: card.textContent ?? '',
      bars: [...card.querySelectorAll('li.row')].map((li) => li.getAttribute('data-code')),
      notDermoscopic: card.querySelector('[data-part="not-dermoscopic"]') !== null,
      heatmapToggle: card.querySelector('.heatmap-toggle') !== null,
      image: host.shadowRoot!.querySelector('dermlens-heatmap-preview')?.shadowRoot?.querySelector('img')?.naturalWidth ?? 0,
    };
  });
}

describe('DermLens in VS Code', { skip: 'skip' in host ? host.skip : false, timeout: 900_000 }, () => {
  let vs: VsCode;
  let cli: Record<string, ClassifyRecord>;

  before(async () => {
    const files = await workspaceFiles();
    cli = await cliRecords(files);
    vs = await startVsCode((host as { path: string }).path, builtVsix(), {
      files,
      // Training runs the CLI of this checkout, on a tiny synthetic HAM10000 folder in the workspace.
      settings: { 'dermlens.cli': `${process.execPath} ${resolve('bin/dermlens.js')}` },
      prepare: (workspace) => writeSyntheticHam(join(workspace, 'ham')),
    });
  });

  after(async () => {
    await vs?.close();
  });

  test('Explorer menu on an image: the card shows the CLI probabilities, seven bars, "where it looked" and not-a-diagnosis', async () => {
    await explorerMenu(vs.page, 'lesion.jpg', 'Classify skin lesion');
    const data = await cardFor(vs, 'lesion.jpg');
    assert.equal(data.state, 'result', data.error);
    const expected = cliProbabilities(cli['lesion.jpg']);
    assert.deepEqual(data.probabilities.split(',').map(Number), expected, 'the same numbers as dermlens classify --json');
    assert.equal(data.top, (cli['lesion.jpg'] as ClassifiedRecord).predictions[0].code);
    const card = await cardContent(vs);
    assert.deepEqual([...card.bars].sort(), [...CLASS_CODES].sort(), 'a bar for each of the seven classes');
    assert.ok(card.heatmapToggle, '"Where it looked" is offered');
    assert.match(card.text, /Not a diagnosis/);
    assert.equal(card.image, 320, 'the classified picture is shown (through asWebviewUri)');
  });

  test('palette and editor title on the image open in the editor: a non-dermoscopic picture gets the gate notice, as the CLI says', async () => {
    const record = cli['landscape.png'] as ClassifiedRecord;
    assert.equal(record.dermoscopic, false, 'the CLI flags the landscape too');
    await (await explorerRow(vs.page, 'landscape.png')).click(); // opens the image preview
    await eventually('the image preview tab', async () => (await vs.page.$('.tab.active[aria-label^="landscape.png"]')) ?? undefined);
    await runCommand(vs.page, 'DermLens: Classify skin lesion');
    const data = await cardFor(vs, 'landscape.png');
    assert.deepEqual(data.probabilities.split(',').map(Number), cliProbabilities(record));
    const card = await cardContent(vs);
    assert.ok(card.notDermoscopic, 'the card leads with "This does not look like a dermoscopic image of a skin lesion"');
    assert.match(card.text, /This does not look like a dermoscopic image of a skin lesion/);
    assert.match(card.text, /Show the result anyway/);

    // The button in the editor title of an open image does the same.
    await (await explorerRow(vs.page, 'lesion.jpg')).click();
    const button = await eventually(
      'the editor title button',
      async () =>
        (await vs.page.$(
          '.editor-actions .action-label[aria-label="DermLens: Classify skin lesion"], .editor-actions .action-label[aria-label="Classify skin lesion"]',
        )) ?? undefined,
    );
    await button.click();
    const fromTitle = await cardFor(vs, 'lesion.jpg');
    assert.deepEqual(fromTitle.probabilities.split(',').map(Number), cliProbabilities(cli['lesion.jpg']));
  });

  test('Explorer menu on an SVG: refused with the CLI message, word for word', async () => {
    await explorerMenu(vs.page, 'drawing.svg', 'Classify skin lesion');
    const data = await cardFor(vs, 'drawing.svg');
    assert.equal(data.state, 'error');
    assert.equal(data.error, IMAGE_REFUSALS.svg());
    assert.equal(data.error, (cli['drawing.svg'] as { error: string }).error, "the CLI's own message");
    assert.match((await cardContent(vs)).text, /Could not classify this image/);
  });

  test('Explorer menu on a folder: the table has the CLI answer for every file, sorts, opens a card and exports JSON and CSV', async () => {
    await explorerMenu(vs.page, 'batch', 'Classify skin lesions in folder');
    const data = await settledState(vs.page, TABLE, ['done']).catch(async (e) => {
      await vs.page.screenshot({ path: '/tmp/vs-table-fail.png' });
      throw e;
    });
    assert.equal(data.rows, '4');
    const { element } = await inWebview(vs.page, TABLE);
    const rows = () =>
      element.evaluate((table) =>
        [...table.shadowRoot!.querySelectorAll('tbody tr')].map((tr) => ({
          file: tr.getAttribute('data-file')!,
          cells: Object.fromEntries([...tr.querySelectorAll('td')].map((td) => [td.dataset.part, td.textContent!.trim()])),
        })),
      );
    const shown = await rows();
    assert.deepEqual(
      shown.map((r) => r.file),
      ['a-lesion.jpg', 'b-lesion.png', 'c-landscape.jpg', 'd-drawing.svg'],
    );
    for (const row of shown) {
      const record = cli[`batch/${row.file}`];
      if ('error' in record) {
        assert.equal(row.cells.error, record.error);
        continue;
      }
      assert.match(row.cells.top, new RegExp(`\\(${record.predictions[0].code}\\)$`), row.file);
      assert.equal(row.cells.gate, record.dermoscopic ? 'dermoscopic' : 'not dermoscopic', row.file);
      assert.equal(row.cells.alert, record.melanomaAlert ? 'Melanoma alert' : '', row.file);
    }
    // Sort by probability, highest first (a second click flips it); refused files go last.
    const header = await element.evaluateHandle((t) => t.shadowRoot!.querySelector('th[data-column="probability"] button')!);
    await (header as unknown as { click(): Promise<void> }).click();
    const byProbability = (await rows()).map((r) => r.file);
    const expectedOrder = Object.entries(cli)
      .filter(([f, r]) => f.startsWith('batch/') && 'predictions' in r)
      .sort(([, a], [, b]) => (b as ClassifiedRecord).predictions[0].probability - (a as ClassifiedRecord).predictions[0].probability)
      .map(([f]) => f.slice('batch/'.length));
    assert.deepEqual(byProbability, [...expectedOrder, 'd-drawing.svg']);

    // Export JSON: the save dialog (VS Code's own, path filled in) -> the same records as classify --json.
    const exportButton = async (action: string) => {
      const button = await element.evaluateHandle((t, a) => t.shadowRoot!.querySelector(`button[data-action="${a}"]`)!, action);
      await (button as unknown as { click(): Promise<void> }).click();
      const input = await vs.page.waitForSelector('.quick-input-widget input', { visible: true, timeout: 15_000 });
      await eventually('the save dialog to fill in the path', async () =>
        (await input!.evaluate((i) => (i as HTMLInputElement).value)).endsWith(action.slice(7)),
      );
      await vs.page.keyboard.press('Enter');
    };
    await exportButton('export-json');
    const jsonPath = join(vs.workspace, 'batch', 'dermlens-batch.json');
    const exported = await eventually('the JSON export', () => readFile(jsonPath, 'utf8').then((t) => JSON.parse(t) as ClassifyRecord[]));
    const expected = Object.entries(cli)
      .filter(([f]) => f.startsWith('batch/'))
      .map(([f, r]) => ({ ...r, file: f.slice('batch/'.length) }));
    assert.deepEqual(exported, expected, 'the same fields and values as dermlens classify --json');
    await exportButton('export-csv');
    const csv = await eventually('the CSV export', () => readFile(join(vs.workspace, 'batch', 'dermlens-batch.csv'), 'utf8'));
    const lines = csv.trim().split('\n');
    assert.equal(lines[0], `file,dermoscopic,dermoscopyScore,melanomaAlert,top,${CLASS_CODES.join(',')},error`);
    assert.equal(lines.length, 5);
    const a = lines.find((l) => l.startsWith('a-lesion.jpg,'))!.split(',');
    assert.deepEqual(a.slice(5, 12).map(Number), cliProbabilities(cli['batch/a-lesion.jpg']));
    assert.match(csv, /d-drawing\.svg,,,,,,,,,,,,"SVG drawings are not accepted/);
    assert.ok((await notifications(vs.page)).some((n) => n.includes('exported 4 results')));

    // A click on a row opens that file's card.
    const row = await element.evaluateHandle((t) => t.shadowRoot!.querySelector('tr[data-file="b-lesion.png"]')!);
    await (row as unknown as { click(): Promise<void> }).click();
    const card = await cardFor(vs, 'batch/b-lesion.png');
    assert.deepEqual(card.probabilities.split(',').map(Number), cliProbabilities(cli['batch/b-lesion.png']));
  });

  test('Train a model...: dermlens train runs as a task, terminating it stops the run at a checkpoint, the same command resumes it, and the run opens its report', async () => {
    const run = join(vs.workspace, 'runs', 'vs-run');
    const epochOf = () =>
      readFile(join(run, 'checkpoint', 'state.json'), 'utf8').then(
        (t) => (JSON.parse(t) as { epoch: number }).epoch,
        () => 0,
      );
    const quickInput = async (title: RegExp, text: string | null) => {
      await eventually(`the quick input "${title}"`, async () => {
        const shown = await vs.page
          .$eval('.quick-input-widget', (w) => ((w as HTMLElement).style.display !== 'none' ? w.textContent : ''))
          .catch(() => '');
        return title.test(shown ?? '');
      });
      if (text !== null) {
        await vs.page.click('.quick-input-widget input', { count: 3 });
        await vs.page.keyboard.type(text);
      }
      await vs.page.keyboard.press('Enter');
    };
    const startTraining = async () => {
      await runCommand(vs.page, 'DermLens: Train a model...');
      await quickInput(/\(1\/3\)|Run folder/, 'runs/vs-run');
    };

    await startTraining();
    await quickInput(/\(2\/3\)/, null); // the workspace's HAM10000 folder, found by its metadata file
    await quickInput(/\(3\/3\)/, '--arch seed --size 24 --epochs 48 --batch 16 --backend wasm --no-cache');
    // 48 epochs at 24 px: long enough (about a minute on a quiet machine) that the terminate below lands
    // mid-run; at 16 px and 24 epochs a quiet machine finished before it (stopped at epoch 24 of 24).
    await eventually('two checkpointed epochs', async () => (await epochOf()) >= 2, 120_000);
    // The task's terminal shows the trainer's own lines (epoch results; the progress line with the ETA).
    const terminal = await eventually('the epoch lines in the task terminal', async () => {
      const text = await vs.page.$$eval('.terminal-wrapper .xterm-rows', (rows) => rows.map((r) => r.textContent).join('\n'));
      return /epoch 2\/48 +loss/.test(text) ? text : undefined;
    });
    assert.match(terminal, /val_bal_acc \d\.\d+/);
    await runCommand(vs.page, 'Tasks: Terminate Task');
    await quickInput(/dermlens: train runs\/vs-run/, null); // "Select a task to terminate": the one running
    const stoppedAt = await eventually('the run to stop', async () => {
      const before = await epochOf();
      await new Promise((r) => setTimeout(r, 2000));
      return (await epochOf()) === before ? before : undefined;
    });
    assert.ok(stoppedAt < 48, `stopped at epoch ${stoppedAt} of 48`);
    await assert.rejects(readFile(join(run, 'metrics.json')), 'an unfinished run has no metrics.json');

    await startTraining();
    await quickInput(/already has a checkpoint/, null); // "Continue this run from its last checkpoint (--resume)"
    await eventually('the resumed run to finish', () => readFile(join(run, 'metrics.json'), 'utf8'), 300_000);
    const history = JSON.parse(await readFile(join(run, 'history.json'), 'utf8')) as { epoch: number }[];
    assert.deepEqual(
      history.map((h) => h.epoch),
      Array.from({ length: 48 }, (_, i) => i + 1),
      'every epoch once: the resumed run went on from the checkpoint',
    );

    // The run folder: right-click it in the Explorer -> its report in a webview.
    await (await explorerRow(vs.page, 'runs')).click();
    await explorerMenu(vs.page, 'vs-run', 'Open training run');
    const { frame } = await inWebview(vs.page, 'canvas#loss');
    assert.match(await frame.evaluate(() => document.body.textContent ?? ''), /Configuration/);
  });

  test('a model setting that is not a model: the card and a notification name the path and the setting', async () => {
    /** Types `value` into the dermlens.modelPath field of the Settings editor (it saves as you type). */
    const setModelPath = async (value: string) => {
      await runCommand(vs.page, 'Preferences: Open Settings (UI)');
      // The settings search box has the focus once the editor opens.
      await eventually('the settings search box', async () =>
        ((await vs.page.evaluate(() => document.activeElement?.getAttribute('aria-label'))) ?? '').startsWith('Search settings'),
      );
      await vs.page.keyboard.type('dermlens.modelPath');
      const field = await vs.page.waitForSelector('.settings-editor input[aria-label="dermlens.modelPath"]', { visible: true });
      // All at once, as a paste would: the editor saves while one types and re-renders the field.
      await field!.evaluate((input, v) => {
        (input as HTMLInputElement).value = v;
        input.dispatchEvent(new Event('input', { bubbles: true }));
      }, value);
      // The editor writes the setting after a short pause.
      await eventually('the setting to be saved', async () => {
        const saved = JSON.parse(await readFile(vs.userSettingsFile, 'utf8')) as Record<string, unknown>;
        return (saved['dermlens.modelPath'] ?? '') === value;
      });
    };
    await setModelPath('/nowhere/model');
    try {
      await explorerMenu(vs.page, 'lesion.jpg', 'Classify skin lesion');
      const data = await cardFor(vs, 'lesion.jpg');
      assert.equal(data.state, 'error');
      assert.match(data.error, /^The model \/nowhere\/model does not exist\. Set dermlens\.modelPath to a model folder/);
      assert.match(data.error, /or clear it to use the shipped model\.$/);
      await eventually('the notification', async () => (await notifications(vs.page)).some((n) => n.includes('/nowhere/model')));
    } finally {
      await setModelPath('');
    }
    await explorerMenu(vs.page, 'lesion.jpg', 'Classify skin lesion');
    await eventually('the shipped model again', async () => (await cardFor(vs, 'lesion.jpg')).state === 'result');
  });

  test('the webviews request nothing but their own files from the VS Code server', () => {
    const origin = new URL(vs.page.url()).origin;
    assert.ok(vs.webviewRequests.length > 0, 'the webview requests were recorded');
    // The rest are webview resource URLs (https://*.vscode-resource.vscode-cdn.net/...), which the
    // webview's service worker answers from the server: they never reach the network.
    const elsewhere = vs.webviewRequests.filter(
      ({ url, fromServiceWorker }) => !url.startsWith(`${origin}/`) && !/^(data|blob):/.test(url) && !fromServiceWorker,
    );
    assert.deepEqual(elsewhere, [], 'no request leaves the machine');
    assert.ok(
      vs.webviewRequests.some(({ url, fromServiceWorker }) => url.endsWith('/dist/card-webview.js') && fromServiceWorker),
      'the card script came from the service worker',
    );
  });
});
