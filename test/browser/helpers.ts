// Shared test data and helpers for the browser tests.
import { CLASS_CODES } from '../../core/labels.ts';
import type { ClassificationResult } from '../../extension/shared/messages.ts';
import { toClassificationResult } from '../../extension/shared/result.ts';

/** A result with the given probabilities in CLASS_CODES order. */
export function resultFrom(probabilities: number[], extra: Partial<ClassificationResult> = {}): ClassificationResult {
  return {
    ...toClassificationResult(probabilities, {
      melanomaThreshold: 0.27,
      ms: 42,
      timings: { fetchMs: 1, decodeMs: 2, preprocessMs: 3, inferenceMs: 4 },
      modelVersion: 'compact-96 test',
      untrained: false,
      width: 600,
      height: 450,
    }),
    ...extra,
  };
}

/** nv most likely (0.62), mel second (0.2), malignant group = akiec + bcc + mel = 0.03 + 0.05 + 0.2 = 0.28. */
export const SAMPLE_PROBABILITIES = [0.03, 0.05, 0.04, 0.02, 0.2, 0.62, 0.04];
export const SAMPLE_RESULT = resultFrom(SAMPLE_PROBABILITIES);
/** The same answer for an image the dermoscopy gate flags as not skin (a building, say). */
export const FLAGGED_RESULT = resultFrom(SAMPLE_PROBABILITIES, {
  dermoscopy: { score: 0.04, threshold: 0.31, dermoscopic: false, kind: 'other', clinicalScore: 0.12, clinicalThreshold: 0.45 },
});
/** What a model card says about ordinary photos of skin (model-card.json clinicalPhotos). */
export const CLINICAL_FIGURES = {
  photos: '98 phone photos of skin spots from 74 patients (PAD-UFES-20)',
  n: 98,
  notDermoscopicRate: 0.93,
  namedClinicalRate: 0.87,
  lesionBalancedAccuracy: 0.36,
  lesionChance: 0.2,
};
/** The same answer for an ordinary phone photo of skin, with the model card's figures. */
export const CLINICAL_RESULT = resultFrom(SAMPLE_PROBABILITIES, {
  dermoscopy: { score: 0.2, threshold: 0.31, dermoscopic: false, kind: 'clinical', clinicalScore: 0.81, clinicalThreshold: 0.45 },
  clinicalPhotos: CLINICAL_FIGURES,
});

export { CLASS_CODES };

/** Waits until check() is true (polling), or fails with the message. */
export async function waitFor(check: () => boolean, message: string, timeoutMs = 5000): Promise<void> {
  const started = performance.now();
  while (!check()) {
    if (performance.now() - started > timeoutMs) throw new Error(`Timed out: ${message}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export async function fixtureBytes(name: string): Promise<Uint8Array> {
  const response = await fetch(new URL(`./fixtures/${name}`, import.meta.url));
  if (!response.ok) throw new Error(`fixture ${name}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

export async function sha256Hex(bytes: ArrayBufferView): Promise<string> {
  const digest = await crypto.subtle.digest(
    'SHA-256',
    new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) as Uint8Array<ArrayBuffer>,
  );
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A PNG made by a canvas (for upload tests). */
export async function canvasPng(width: number, height: number, colour = '#7a4a3a'): Promise<Uint8Array> {
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext('2d')!;
  context.fillStyle = '#e0b8a0';
  context.fillRect(0, 0, width, height);
  context.fillStyle = colour;
  context.beginPath();
  context.arc(width / 2, height / 2, Math.min(width, height) / 3, 0, Math.PI * 2);
  context.fill();
  return new Uint8Array(await (await canvas.convertToBlob({ type: 'image/png' })).arrayBuffer());
}

/** A 3x3 "where it looked" map for the top class (nv), hottest in the top-left cell, over a 4:3 crop. */
export const SAMPLE_HEATMAP = {
  map: { code: 'nv' as const, width: 3, height: 3, values: [9, 5, 1, 5, 3, 1, 1, 1, 0] },
  crop: { x: 0, y: 0, width: 600, height: 450 },
};
