// The service worker of a TEST build only (rollup with DERMLENS_TEST_HOOKS=1, as test/e2e/build.ts builds
// dist-test/ for the e2e tests and npm run bench:extension): the production worker (background.ts), plus
// self.dermlens, which the production build does not contain.
//
// self.dermlens runs exactly what the context-menu click runs, so puppeteer can drive the flow with
// worker.evaluate (CDP cannot click context-menu items). It grants nothing by itself: the tab must
// already have activeTab access, as after a real click (tests use page.triggerExtensionAction).
// menuClick(info, tabId) is the whole click handler, host-permission request included; called from a
// test it has no user gesture, so Chrome refuses to show the prompt (the card then says so).
import '../background.ts';
import { browser } from '../shared/browser.ts';
import { classifyUrl } from './classify-flow.ts';
import { onMenuClick, type MenuClick } from './context-menu.ts';

(self as unknown as { dermlens: unknown }).dermlens = {
  classifyUrl: (srcUrl: string, tabId: number, frameId?: number): Promise<void> => classifyUrl(srcUrl, tabId, frameId ?? 0),
  menuClick: (info: MenuClick, tabId: number): Promise<void> => onMenuClick(info, tabId),
};

// For npm run bench:extension -- --browser firefox: when the menu click reached the background, so the
// right-click time can also be given from there, as Chrome's is (Firefox prints this on stdout).
browser.contextMenus.onClicked.addListener(() => console.info(`dermlens-test: menus.onClicked at ${Date.now()}`));
