// One image file -> the card's ClassificationResult, in the extension host: the same decode checks as
// the CLI, the same preprocessing and the same pass (probabilities, gate, heatmap) as the browser.
import { readFile, stat } from 'node:fs/promises';
import { IMAGE_REFUSALS, ImageFileError, MAX_IMAGE_BYTES } from '../../../core/image-check.ts';
import { classifyPixels } from '../../../extension/shared/infer-with-heatmap.ts';
import type { ClassificationResult } from '../../../extension/shared/messages.ts';
import { decodeImageBytes } from './decode-image.ts';
import type { LoadedModel } from './model-host.ts';

/** The file's bytes, refusing a folder or an over-large file before reading it (as the CLI does). */
async function readImageFile(path: string): Promise<Uint8Array> {
  const info = await stat(path);
  if (info.isDirectory()) throw new ImageFileError('This is a folder, not an image file.');
  if (info.size > MAX_IMAGE_BYTES) throw new ImageFileError(IMAGE_REFUSALS.tooManyBytes(info.size));
  return new Uint8Array(await readFile(path));
}

/** Classifies the image at `path`; throws ImageFileError (the CLI's message) for a refused file. */
export async function classifyFile(path: string, model: LoadedModel): Promise<ClassificationResult> {
  const started = performance.now();
  const bytes = await readImageFile(path);
  const read = performance.now();
  const image = decodeImageBytes(bytes);
  const decoded = performance.now();
  return classifyPixels(model.classifier, image, {
    started,
    fetched: read,
    decoded,
    modelVersion: model.versionLabel,
    untrained: model.untrained,
  });
}
