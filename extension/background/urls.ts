// Pure URL logic of the right-click flow (no extension APIs, so Node unit tests cover it): which host
// access a click needs beyond activeTab, and what to tell the user when the image could not be read.
import type { BrowserName } from '../shared/browser-name.ts';

/** Host name for messages and for Chrome's prompt ("Read and change your data on <host>"). */
export function hostOf(url: string): string {
  try {
    return new URL(url).hostname || url.slice(0, 60);
  } catch {
    return url.slice(0, 60);
  }
}

/** Host with its port when it has one ("127.0.0.1:8081"): where an image is, exactly. */
export function addressOf(url: string): string {
  try {
    return new URL(url).host || url.slice(0, 60);
  } catch {
    return url.slice(0, 60);
  }
}

/** "https://cdn.example.com/*" for an http(s) URL, else null. A pattern without a port matches every port. */
export function originPattern(url: string): string | null {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? `${u.protocol}//${u.hostname}/*` : null;
  } catch {
    return null;
  }
}

/** Scheme, host and port all equal (default ports normalised); false for opaque origins. */
export function sameOrigin(a: string, b: string | undefined): boolean {
  if (!b) return false;
  try {
    const origin = new URL(a).origin;
    return origin !== 'null' && origin === new URL(b).origin;
  } catch {
    return false;
  }
}

/**
 * The host patterns a click needs beyond what activeTab grants. activeTab covers exactly the top page's
 * origin (scheme, host AND port), so any other origin needs its host granted: the image's, and the
 * frame's when the image sits in a frame from another origin (to show the card there). Host patterns
 * cannot name a port, so an image on the page's host but another port asks for that whole host.
 */
export function originsBeyondActiveTab(srcUrl: string, pageUrl: string | undefined, frameUrl?: string): string[] {
  const beyond = (url: string | undefined) => (url && !sameOrigin(url, pageUrl) ? originPattern(url) : null);
  const wanted = [beyond(srcUrl), beyond(frameUrl)];
  return [...new Set(wanted.filter((o): o is string => o !== null))];
}

/** The user's answer to this click's host-permission request. */
export type HostAnswer =
  | { kind: 'granted' }
  | { kind: 'denied' }
  /** Chrome refused to ask (e.g. no user gesture, another prompt open): the user saw nothing. */
  | { kind: 'not-asked'; reason: string };

export interface BlockedImageFacts {
  srcUrl: string;
  /** The tab's page URL, when known: activeTab covers exactly its origin. */
  pageUrl?: string;
  /** Whether a granted host permission covers the image (permissions.contains). */
  hostGranted: boolean;
  /** This click's prompt; undefined when this request asked nothing (overlay re-send, test hook). */
  answer?: HostAnswer;
  /** The browser that asks (or did not ask) the user; Chrome when not given. */
  browser?: BrowserName;
}

const UPLOAD_INSTEAD = 'or save the image and upload it in the DermLens popup.';

/**
 * What to tell the user when neither the extension nor the page could read the image. Says "no access"
 * only when DermLens really has none, and promises a Chrome prompt only where a click asks for one
 * (originsBeyondActiveTab is not empty for any image outside the page's exact origin).
 */
export function blockedImageMessage({ srcUrl, pageUrl, hostGranted, answer, browser = 'Chrome' }: BlockedImageFacts): string {
  const address = addressOf(srcUrl);
  const host = hostOf(srcUrl);
  if (hostGranted || answer?.kind === 'granted' || sameOrigin(srcUrl, pageUrl)) {
    return (
      `DermLens may read images from ${address}, but the download failed (network error, the server refused it, ` +
      `or it sent the request on to another site). Check that the image opens in its own tab, ${UPLOAD_INSTEAD}`
    );
  }
  if (answer?.kind === 'denied') {
    return (
      `You did not allow DermLens to read images from ${host}, and ${address} does not let other pages read them. ` +
      `Right-click the image and choose "Classify skin lesion" again to be asked once more, ${UPLOAD_INSTEAD}`
    );
  }
  if (answer?.kind === 'not-asked') {
    return (
      `${browser} did not ask you whether DermLens may read images from ${host} (${answer.reason.replace(/\.$/, '')}). ` +
      `Right-click the image and choose "Classify skin lesion" again, ${UPLOAD_INSTEAD}`
    );
  }
  const pageAddress = pageUrl ? addressOf(pageUrl) : '';
  const why =
    pageUrl && hostOf(pageUrl) === host && pageAddress !== address
      ? ` (the page is on ${pageAddress}: another port is another site, which the access given for this page does not cover)`
      : '';
  return (
    `DermLens has no access to ${address}, where this image is stored${why}. Right-click the image and choose ` +
    `"Classify skin lesion": ${browser} then asks once whether DermLens may read images from ${host}; ${UPLOAD_INSTEAD}`
  );
}

/** A readable refusal for URL schemes DermLens cannot read, or null when the scheme is fine. */
export function unsupportedUrlMessage(srcUrl: string): string | null {
  const scheme = srcUrl.slice(0, Math.max(0, srcUrl.indexOf(':'))).toLowerCase();
  if (['http', 'https', 'data', 'blob'].includes(scheme)) return null;
  if (scheme === 'file') return 'DermLens cannot read local files from a page. Open the DermLens popup and upload the file instead.';
  return `DermLens cannot read images from "${scheme || srcUrl.slice(0, 20)}:" addresses. Save the image and upload it in the DermLens popup.`;
}
