// A real VS Code for the end-to-end tests: code-server (VS Code 1.100 with a Node extension host,
// installed outside the clone by scripts/install-vscode-host.sh) with the built .vsix installed, a
// throwaway workspace, and Debian's Chromium driving the workbench through puppeteer-core.
// Recipe and pitfalls: ../shared/notes/vscode-host.md.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { CHROMIUM, CHROMIUM_FLAGS } from '../e2e/harness.ts';

const HOST_DIR = process.env.DERMLENS_VSCODE_HOST ?? join(homedir(), '.cache', 'dermlens-vscode-host');
const CODE_SERVER = join(HOST_DIR, 'node_modules', '.bin', 'code-server');

/** The code-server binary, installing it first if needed; null (with the reason) when it cannot be had. */
export function codeServerBinary(): { path: string } | { skip: string } {
  if (!existsSync(CODE_SERVER)) {
    const install = spawnSync('bash', ['scripts/install-vscode-host.sh'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (install.status !== 0 || !existsSync(CODE_SERVER)) {
      return { skip: `the VS Code host (code-server) could not be installed: ${install.stderr.trim().split('\n').slice(-3).join(' | ')}` };
    }
  }
  if (!existsSync(CHROMIUM)) return { skip: `no Chromium at ${CHROMIUM} (scripts/setup.sh installs it)` };
  return { path: CODE_SERVER };
}

/** The .vsix `npm run build` wrote, building it if it is missing. */
export function builtVsix(): string {
  const find = () =>
    existsSync('dist-packages') ? readdirSync('dist-packages').find((f) => /^dermlens-vscode-.*\.vsix$/.test(f)) : undefined;
  if (!find()) {
    for (const step of [
      ['npx', 'rollup', '-c', 'vscode/rollup.config.mjs'],
      ['node', 'scripts/package-vscode.mjs'],
    ]) {
      const run = spawnSync(step[0], step.slice(1), { encoding: 'utf8' });
      if (run.status !== 0) throw new Error(`${step.join(' ')} failed: ${run.stderr}`);
    }
  }
  return resolve('dist-packages', find()!);
}

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
    server.on('error', fail);
  });
}

export interface VsCode {
  page: Page;
  /**
   * Every response a webview frame got so far (the workbench's own are not DermLens'), and whether the
   * webview's service worker answered it: VS Code serves webview resources through one, from the server.
   */
  webviewRequests: { url: string; fromServiceWorker: boolean }[];
  browser: Browser;
  workspace: string;
  /** The user settings.json (the Settings editor writes it). */
  userSettingsFile: string;
  /** Server log so far (for failure messages). */
  log(): string;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Files to create in the workspace: relative path -> contents. */
  files: Record<string, Uint8Array | string>;
  /** Extra user settings. */
  settings?: Record<string, unknown>;
  /** Writes more into the workspace folder before VS Code opens it. */
  prepare?: (workspace: string) => Promise<unknown>;
}

/** Installs the .vsix into a fresh profile, starts code-server on a workspace, opens it in Chromium. */
export async function startVsCode(binary: string, vsix: string, { files, settings = {}, prepare }: StartOptions): Promise<VsCode> {
  const root = await mkdtemp(join(tmpdir(), 'dermlens-vscode-'));
  const workspace = join(root, 'workspace');
  const dirs = { userData: join(root, 'user-data'), extensions: join(root, 'extensions'), tmp: join(root, 'tmp'), xdg: join(root, 'xdg') };
  for (const dir of [workspace, ...Object.values(dirs), join(dirs.userData, 'User')]) await mkdir(dir, { recursive: true });
  for (const [name, contents] of Object.entries(files)) {
    await mkdir(join(workspace, name, '..'), { recursive: true });
    await writeFile(join(workspace, name), contents);
  }
  await prepare?.(workspace);
  const userSettings = {
    'workbench.startupEditor': 'none',
    'security.workspace.trust.enabled': false,
    'chat.disableAIFeatures': true,
    'workbench.tips.enabled': false,
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'telemetry.telemetryLevel': 'off',
    'workbench.enableExperiments': false,
    'files.simpleDialog.enable': true,
    // The DOM renderer: the terminal's text is then in the page for the tests to read.
    'terminal.integrated.gpuAcceleration': 'off',
    ...settings,
  };
  const userSettingsFile = join(dirs.userData, 'User', 'settings.json');
  await writeFile(userSettingsFile, JSON.stringify(userSettings, null, 1));
  const port = await freePort();
  const config = join(root, 'config.yaml');
  await writeFile(config, `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`);
  const env = { ...process.env, TMPDIR: dirs.tmp, XDG_DATA_HOME: dirs.xdg };
  const common = ['--config', config, '--user-data-dir', dirs.userData, '--extensions-dir', dirs.extensions];
  const install = spawnSync(binary, [...common, '--install-extension', vsix], { encoding: 'utf8', env, timeout: 60_000 });
  if (install.status !== 0) throw new Error(`installing ${vsix} into code-server failed: ${install.stdout}${install.stderr}`);

  let output = '';
  const server: ChildProcess = spawn(
    binary,
    [
      ...common,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      workspace,
    ],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  server.stdout!.on('data', (d) => (output += d));
  server.stderr!.on('data', (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (
      (await fetch(`${url}/healthz`)
        .then((r) => r.ok)
        .catch(() => false)) === true
    )
      break;
    if (i > 120 || server.exitCode !== null) throw new Error(`code-server did not start: ${output}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    pipe: true,
    // Chromium refuses to run as root with its sandbox on (CI runs as root).
    // No name resolves but the server's address: a request that tried to leave the machine would fail.
    args: [
      ...CHROMIUM_FLAGS,
      '--window-size=1400,900',
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
      ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
    ],
    defaultViewport: { width: 1400, height: 900 },
    protocolTimeout: 120_000,
  });
  const page = await browser.newPage();
  const webviewRequests: VsCode['webviewRequests'] = [];
  page.on('response', (response) => {
    if (response.frame()?.url().includes('/contrib/webview/'))
      webviewRequests.push({ url: response.url(), fromServiceWorker: response.fromServiceWorker() });
  });
  try {
    // Generous: on a loaded machine (a training run beside the tests) the workbench takes its time.
    await page.goto(`${url}/?folder=${encodeURIComponent(workspace)}`, { waitUntil: 'domcontentloaded', timeout: 180_000 });
    await page.waitForSelector('.monaco-workbench', { timeout: 180_000 });
  } catch (error) {
    await browser.close().catch(() => undefined);
    server.kill(); // the caller gets no handle to close: do not leave the server behind
    throw error;
  }
  return {
    page,
    webviewRequests,
    browser,
    workspace,
    userSettingsFile,
    log: () => output,
    async close() {
      await browser.close().catch(() => undefined);
      server.kill();
      await new Promise((r) => (server.exitCode !== null ? r(null) : server.once('exit', r)));
      // The server's children may still be writing its storage as it goes: retry.
      await rm(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    },
  };
}
