#!/usr/bin/env node
// `npm start`: builds the extension, then launches Chromium with dist/ loaded unpacked, in a throwaway
// profile under .cache/. Optional argument: a URL to open (e.g. a page with a photo to right-click).
// CHROME_PATH overrides the browser (Chromium or Chrome for Testing: branded Chrome 137+ ignores
// --load-extension). Without a display it runs headless with remote debugging on port 9222.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';

const build = spawnSync('npm', ['run', 'build'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

const chrome = process.env.CHROME_PATH || '/usr/bin/chromium';
const extension = resolve('dist');
const profile = resolve('.cache/chromium-profile');
mkdirSync(profile, { recursive: true });
const headless = !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY;
const args = [
  `--user-data-dir=${profile}`,
  `--disable-extensions-except=${extension}`,
  `--load-extension=${extension}`,
  '--no-first-run',
  '--no-default-browser-check',
  ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), // Chromium refuses to run as root with its sandbox
  ...(headless ? ['--headless=new', '--remote-debugging-port=9222'] : []),
  process.argv[2] ?? 'about:blank',
];
console.log(`${chrome} ${args.join(' ')}`);
if (headless) console.log('No display found: running headless; attach DevTools at http://127.0.0.1:9222 (Ctrl+C to stop).');
const browser = spawn(chrome, args, { stdio: 'inherit' });
browser.on('exit', (code) => process.exit(code ?? 0));
process.on('SIGINT', () => browser.kill('SIGINT'));
