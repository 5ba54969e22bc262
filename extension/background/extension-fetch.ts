// Whether the image can be downloaded from the extension's own side (the model's page), which needs no
// help from the page and is the fast path. In Chrome it can for the page's origin (activeTab) and for hosts
// the user granted, so it is always tried (a refusal falls back to reading the image in the page).
// Firefox's build uses extension-fetch.firefox.ts instead.

export async function extensionMayFetch(_srcUrl: string): Promise<boolean> {
  return true;
}
