// What offscreen-document.ts needs from the page that hosts the model, whichever browser hosts it:
// model-document-host.ts (Chrome's offscreen document) or model-document-host.firefox.ts (a frame in
// Firefox's event page).

/** The page that hosts the model (extension/offscreen.html, run by offscreen.ts in both browsers). */
export const MODEL_DOCUMENT_PATH = 'offscreen.html';

export interface ModelDocumentHost {
  /** Whether the page is open now. */
  exists(): Promise<boolean>;
  /** Opens the page; resolves once it answers runtime messages. May throw "... already exists". */
  create(): Promise<void>;
  /** Closes it (a no-op if it is already gone). */
  close(): Promise<void>;
}
