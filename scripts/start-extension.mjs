#!/usr/bin/env node
// `npm start`: builds the extension, then launches Chromium with dist/ loaded unpacked, in a throwaway
// profile under .cache/. Optional argument: a URL to open (e.g. a page with a photo to right-click).
// CHROME_PATH overrides the browser (Chromium or Chrome for Testing: branded Chrome 137+ ignores
// --load-extension). Without a display it runs headless with remote debugging on port 9222.
//
// `npm start -- --browser firefox [url]`: the same with Debian's Firefox ESR (FIREFOX_PATH overrides it)
// and dist-firefox/ installed as a temporary add-on, through `web-ext run` (Mozilla's tool for exactly
// this: it installs the add-on over Firefox's remote protocol and reloads it when dist-firefox/ changes).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  options: { browser: { type: 'string', default: 'chrome' } },
  allowPositionals: true,
});
if (!['chrome', 'firefox'].includes(values.browser)) {
  console.error(`npm start: --browser ${values.browser} is not known; use chrome or firefox`);
  process.exit(1);
}
const url = positionals[0] ?? 'about:blank';

const build = spawnSync('npm', ['run', 'build'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

const headless = !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY;
let command;
let args;
if (values.browser === 'firefox') {
  const profile = resolve('.cache/firefox-profile');
  mkdirSync(profile, { recursive: true });
  command = process.execPath;
  args = [
    resolve('node_modules/web-ext/bin/web-ext.js'),
    'run',
    '--source-dir',
    resolve('dist-firefox'),
    '--firefox',
    process.env.FIREFOX_PATH || '/usr/bin/firefox-esr',
    '--firefox-profile',
    profile,
    '--profile-create-if-missing',
    '--keep-profile-changes', // the camera permission granted on permission.html stays for the next start
    '--no-input',
    '--start-url',
    url,
    ...(headless ? ['--arg=--headless'] : []),
  ];
  if (headless) console.log('No display found: running Firefox headless (Ctrl+C to stop).');
} else {
  const profile = resolve('.cache/chromium-profile');
  mkdirSync(profile, { recursive: true });
  const extension = resolve('dist');
  command = process.env.CHROME_PATH || '/usr/bin/chromium';
  args = [
    `--user-data-dir=${profile}`,
    `--disable-extensions-except=${extension}`,
    `--load-extension=${extension}`,
    '--no-first-run',
    '--no-default-browser-check',
    ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), // Chromium refuses to run as root with its sandbox
    ...(headless ? ['--headless=new', '--remote-debugging-port=9222'] : []),
    url,
  ];
  if (headless) console.log('No display found: running headless; attach DevTools at http://127.0.0.1:9222 (Ctrl+C to stop).');
}
console.log(`${command} ${args.join(' ')}`);
const browser = spawn(command, args, { stdio: 'inherit' });
browser.on('exit', (code) => process.exit(code ?? 0));
process.on('SIGINT', () => browser.kill('SIGINT'));
