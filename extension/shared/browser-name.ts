// Which browser runs DermLens, for the words a person reads: the prompts, settings pages and pages an
// extension may never touch are Chrome's or Firefox's. Read from the extension's own address
// (moz-extension:// in Firefox), which every extension context (pages, background, content scripts) has;
// the same bundles serve both browsers, so this is decided at run time, not at build time.

export type BrowserName = 'Chrome' | 'Firefox';

export function browserName(): BrowserName {
  const runtime = (globalThis as { chrome?: { runtime?: { getURL?: (path: string) => string } } }).chrome?.runtime;
  return runtime?.getURL?.('').startsWith('moz-extension:') ? 'Firefox' : 'Chrome';
}
