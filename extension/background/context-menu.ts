// The "Classify skin lesion" entry of an image's right-click menu: its creation (in onInstalled only: the
// entry persists, so a restarted worker never creates a duplicate) and what a click on it runs.
import { browser } from '../shared/browser.ts';
import { classifyUrl } from './classify-flow.ts';
import { requestHostAccessIfNeeded } from './host-access.ts';

export const MENU_ID = 'dermlens-classify';

/** For runtime.onInstalled: (re)creates the menu entry. */
export function createContextMenu(): void {
  // removeAll first: an update or reload re-runs onInstalled while the old entry still exists.
  void browser.contextMenus.removeAll().then(() =>
    browser.contextMenus.create({
      id: MENU_ID,
      title: 'Classify skin lesion',
      contexts: ['image'],
    }),
  );
}

/** What a click on the menu entry carries (the fields of contextMenus.OnClickData that DermLens reads). */
export interface MenuClick {
  srcUrl?: string;
  pageUrl?: string;
  frameUrl?: string;
  frameId?: number;
}

/** The context-menu click: host permission request (if any) first, synchronously, then the flow. */
export function onMenuClick(info: MenuClick, tabId: number): Promise<void> {
  if (!info.srcUrl) return Promise.resolve();
  // Must run before any await: the permission prompt needs the click's user gesture.
  const hostAccess = requestHostAccessIfNeeded(info.srcUrl, info.pageUrl, info.frameUrl);
  return classifyUrl(info.srcUrl, tabId, info.frameId ?? 0, { hostAccess, pageUrl: info.pageUrl });
}
