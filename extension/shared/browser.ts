// The promise-based `browser.*` namespace via webextension-polyfill, used for every API it covers
// (runtime messaging and ports, runtime.getURL, tabs, contextMenus, permissions), so a Firefox build
// needs no second set of calls. Chromium 150+ already ships a native `browser` object, which the
// polyfill then returns unchanged. APIs the polyfill does not know (offscreen, scripting,
// runtime.getContexts) are called on chrome.* directly, each with a `// chrome.* because ...` note.
import browser from 'webextension-polyfill';
import type { Runtime } from 'webextension-polyfill';

export { browser };
export type { Runtime };

/**
 * A runtime.onMessage listener in the sendResponse style: returns true when it will answer later
 * through sendResponse, false when it does not answer (the message is for another context, or needs no
 * reply). Chrome's chrome.* and native browser.*, the polyfill and Firefox all keep this contract.
 */
export type MessageListener = (message: unknown, sender: Runtime.MessageSender, sendResponse: (response: unknown) => void) => boolean;

/**
 * browser.runtime.onMessage.addListener for a sendResponse-style listener. (A listener that returns a
 * Promise is the other style, and the two do not answer alike; DermLens's listeners keep sendResponse, as
 * they were written for chrome.runtime.onMessage.) The cast: the polyfill's types allow only `true` as
 * that style's return value.
 */
export function addMessageListener(listener: MessageListener): void {
  browser.runtime.onMessage.addListener(listener as Runtime.OnMessageListenerCallback);
}
