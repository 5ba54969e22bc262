// A small fake of the chrome.* APIs the extension's pages and content script use, installed on
// globalThis.chrome when this module is evaluated. Import it FIRST in a test file (before any extension
// module), because webextension-polyfill checks chrome.runtime.id when it is imported.

type Listener = (message: unknown, sender: chrome.runtime.MessageSender, sendResponse: (response?: unknown) => void) => boolean | void;

/** A port from chrome.runtime.connect, as the page side sees it. */
export interface FakePort {
  name: string;
  /** True once either side disconnected. */
  disconnected: boolean;
  /** Messages the page posted on the port. */
  posted: unknown[];
  /** What Chrome does when the other side goes away (e.g. the service worker is stopped). */
  disconnectFromOtherSide(): void;
}

export interface FakeChrome {
  /** Messages sent with chrome.runtime.sendMessage. */
  sent: unknown[];
  /** URLs opened with chrome.tabs.create. */
  createdTabs: string[];
  /** Ports opened with chrome.runtime.connect, in order. */
  ports: FakePort[];
  /** When set, chrome.runtime.connect throws this (as Chrome does when the extension context is gone). */
  connectError: Error | null;
  /** Answers chrome.runtime.sendMessage (default: undefined); a rejection becomes runtime.lastError. */
  respond: (message: unknown) => unknown | Promise<unknown>;
  /** Delivers a message to the runtime.onMessage listeners as Chrome does; resolves to the response. */
  deliver(message: unknown, sender?: chrome.runtime.MessageSender): Promise<unknown>;
  listenerCount(): number;
}

function install(): FakeChrome {
  const listeners: Listener[] = [];
  const fake: FakeChrome = {
    sent: [],
    createdTabs: [],
    ports: [],
    connectError: null,
    respond: () => undefined,
    deliver(message, sender = { id: 'dermlens-test' }) {
      return new Promise((resolve) => {
        let answered = false;
        const sendResponse = (response?: unknown) => {
          if (!answered) {
            answered = true;
            resolve(response);
          }
        };
        let keepOpen = false;
        for (const listener of listeners) if (listener(message, sender, sendResponse) === true) keepOpen = true;
        if (!keepOpen && !answered) resolve(undefined);
      });
    },
    listenerCount: () => listeners.length,
  };
  const runtime = {
    id: 'dermlens-test',
    lastError: undefined as { message: string } | undefined,
    getURL: (path: string) => new URL(path, `${location.origin}/`).href,
    sendMessage(message: unknown, callback?: (response: unknown) => void) {
      fake.sent.push(message);
      const result = Promise.resolve().then(() => fake.respond(message));
      if (callback) {
        // Chrome's callback style: a failure sets runtime.lastError for the duration of the callback.
        void result.then(callback, (error: Error) => {
          runtime.lastError = { message: error.message } as never;
          try {
            callback(undefined);
          } finally {
            runtime.lastError = undefined;
          }
        });
        return undefined;
      }
      return result;
    },
    connect(info?: { name?: string }) {
      if (fake.connectError) throw fake.connectError;
      const disconnectListeners: (() => void)[] = [];
      const port = {
        name: info?.name ?? '',
        disconnected: false,
        posted: [] as unknown[],
        onDisconnect: {
          addListener: (fn: () => void) => {
            disconnectListeners.push(fn);
          },
        },
        onMessage: { addListener: () => {} },
        postMessage: (message: unknown) => {
          if (port.disconnected) throw new Error('Attempting to use a disconnected port object');
          port.posted.push(message);
        },
        // Chrome: a side's own disconnect() does not fire its own onDisconnect.
        disconnect: () => {
          port.disconnected = true;
        },
        disconnectFromOtherSide: () => {
          if (port.disconnected) return;
          port.disconnected = true;
          disconnectListeners.forEach((fn) => fn());
        },
      };
      fake.ports.push(port);
      return port;
    },
    onMessage: {
      addListener: (listener: Listener) => {
        listeners.push(listener);
      },
      removeListener: (listener: Listener) => {
        listeners.splice(listeners.indexOf(listener), 1);
      },
      hasListener: (listener: Listener) => listeners.includes(listener),
    },
  };
  const tabs = {
    create(props: { url: string }, callback?: (tab: unknown) => void) {
      fake.createdTabs.push(props.url);
      const tab = { id: fake.createdTabs.length, url: props.url };
      if (callback) {
        callback(tab);
        return undefined;
      }
      return Promise.resolve(tab);
    },
  };
  (globalThis as unknown as { chrome: unknown }).chrome = { runtime, tabs };
  return fake;
}

export const fakeChrome: FakeChrome = install();
