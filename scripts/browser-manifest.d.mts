// Types for scripts/browser-manifest.mjs (plain JavaScript, because rollup.config.mjs imports it).
export declare const BROWSERS: readonly ['chrome', 'firefox'];
export declare function manifestFor(source: Record<string, unknown>, browser: string, version: string): Record<string, unknown>;
