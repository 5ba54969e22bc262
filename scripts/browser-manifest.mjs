// The one manifest source (manifest.json at the repository root) turned into one browser's manifest.
// Keys prefixed `{{chrome}}.` or `{{firefox}}.` belong to that browser only (the notation of
// vite-plugin-web-extension and WXT): `"{{firefox}}.scripts": [...]` becomes `"scripts": [...]` in the
// Firefox manifest and is absent from Chrome's. Everything else is shared. Used by rollup.config.mjs.

export const BROWSERS = ['chrome', 'firefox'];

const PREFIX = /^\{\{([^}]*)\}\}\.(.+)$/;

/** The manifest for `browser` ('chrome' | 'firefox'), with `version` set (package.json's). */
export function manifestFor(source, browser, version) {
  if (!BROWSERS.includes(browser)) throw new Error(`manifestFor: unknown browser "${browser}" (use ${BROWSERS.join(' or ')})`);
  const pick = (value, path) => {
    if (Array.isArray(value)) return value.map((item, i) => pick(item, `${path}[${i}]`));
    if (value === null || typeof value !== 'object') return value;
    const out = {};
    for (const [key, inner] of Object.entries(value)) {
      const match = PREFIX.exec(key);
      if (match && !BROWSERS.includes(match[1])) {
        throw new Error(`manifest.json: "${path}${key}" names no known browser; prefix keys with {{chrome}}. or {{firefox}}.`);
      }
      const name = match ? match[2] : key;
      if (match && match[1] !== browser) continue;
      if (name in out)
        throw new Error(`manifest.json: "${path}${name}" is given twice for ${browser}; keep one (shared or {{${browser}}}.).`);
      out[name] = pick(inner, `${path}${name}.`);
    }
    return out;
  };
  const manifest = pick(source, '');
  manifest.version = version;
  return manifest;
}
