// The service worker. Every listener is registered synchronously at the top level, so Chrome can wake
// the worker for an event after it was stopped; the context-menu entry is created only in onInstalled
// (it persists), so a restarted worker never tries to create a duplicate. State that must outlive the
// worker (the model) lives in the offscreen document. A test build wraps this file in
// background/test-hooks.ts, which adds the self.dermlens hook the e2e tests drive the right-click flow with.
import { classifyImageBytes, classifyUrl, resumeClassifyUrl } from './background/classify-flow.ts';
import { createContextMenu, MENU_ID, onMenuClick } from './background/context-menu.ts';
import { ensureOffscreen } from './background/offscreen-document.ts';
import { addMessageListener, browser } from './shared/browser.ts';
import { CARD_PORT_NAME, errorMessage, isCardWatch, isRequestFor, type Reply } from './shared/messages.ts';

browser.runtime.onInstalled.addListener(createContextMenu);

browser.contextMenus.onClicked.addListener((info, tab) => {
  if (info.menuItemId !== MENU_ID || tab?.id === undefined || tab.id < 0) return;
  onMenuClick(info, tab.id).catch((error) => console.error('DermLens:', errorMessage(error)));
});

// The overlay holds a port to the worker while a card is loading, to notice at once when the worker is
// stopped mid-request (onDisconnect), and names the request on it. The worker that accepts the port owns
// the request: a worker started by this very connect() (the one that showed the card was stopped before
// the page connected, or since) runs it again under the same requestId; the one already running it, or
// that finished it, does nothing.
browser.runtime.onConnect.addListener((port) => {
  if (port.name !== CARD_PORT_NAME) return;
  port.onMessage.addListener((message: unknown) => {
    const tabId = port.sender?.tab?.id;
    if (!isCardWatch(message) || tabId === undefined) return;
    resumeClassifyUrl(message.srcUrl, tabId, port.sender?.frameId ?? 0, message.requestId).catch((error) =>
      console.error('DermLens:', errorMessage(error)),
    );
  });
});

function reply<T>(work: Promise<T>, sendResponse: (reply: Reply<T>) => void): true {
  work.then(
    (result) => sendResponse({ ok: true, result }),
    (error) => sendResponse({ ok: false, error: errorMessage(error) }),
  );
  return true;
}

addMessageListener((message, sender, sendResponse) => {
  if (!isRequestFor(message, 'background')) return false;
  switch (message.type) {
    case 'classify-image':
      return reply(classifyImageBytes(message.image, message.requestId), sendResponse);
    case 'warm-up':
      return reply(
        ensureOffscreen().then(() => null),
        sendResponse,
      );
    case 'retry-classify-url': {
      const tabId = sender.tab?.id;
      if (tabId === undefined) return false;
      return reply(classifyUrl(message.srcUrl, tabId, sender.frameId ?? 0, { requestId: message.requestId }), sendResponse);
    }
    default:
      return false;
  }
});
