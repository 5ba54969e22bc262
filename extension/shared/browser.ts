// The promise-based `browser.*` namespace via webextension-polyfill, used for the APIs it covers
// (runtime, tabs, contextMenus, permissions). Chromium 150 already ships a native `browser` object,
// which the polyfill then returns unchanged. APIs the polyfill does not know (offscreen, scripting,
// runtime.getContexts) are called on chrome.* directly, which returns promises in MV3.
import browser from 'webextension-polyfill';

export { browser };
