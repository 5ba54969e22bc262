// Pure URL logic of the right-click flow (no extension APIs, so Node unit tests cover it).

/** Host name for messages. */
export function hostOf(url: string): string {
  try { return new URL(url).hostname || url.slice(0, 60); } catch { return url.slice(0, 60); }
}

/** "https://cdn.example.com/*" for an http(s) URL, else null. Match patterns ignore the port. */
export function originPattern(url: string): string | null {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? `${u.protocol}//${u.hostname}/*` : null;
  } catch {
    return null;
  }
}

/**
 * The origins a click needs beyond what activeTab grants (the top page's origin): the image's host, and
 * the host of the frame it sits in when that frame is from another site (to show the card there).
 */
export function originsBeyondActiveTab(srcUrl: string, pageUrl: string | undefined, frameUrl?: string): string[] {
  const page = pageUrl ? originPattern(pageUrl) : null;
  const wanted = [originPattern(srcUrl), frameUrl ? originPattern(frameUrl) : null];
  return [...new Set(wanted.filter((o): o is string => o !== null && o !== page))];
}

/** A readable refusal for URL schemes DermLens cannot read, or null when the scheme is fine. */
export function unsupportedUrlMessage(srcUrl: string): string | null {
  const scheme = srcUrl.slice(0, Math.max(0, srcUrl.indexOf(':'))).toLowerCase();
  if (['http', 'https', 'data', 'blob'].includes(scheme)) return null;
  if (scheme === 'file') return 'DermLens cannot read local files from a page. Open the DermLens popup and upload the file instead.';
  return `DermLens cannot read images from "${scheme || srcUrl.slice(0, 20)}:" addresses. Save the image and upload it in the DermLens popup.`;
}
