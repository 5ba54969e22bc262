// Batched inference over a loaded dataset, through core/classifier.ts' predictProbabilities so the
// trainer's numbers describe exactly what the extension computes.
import { tf } from '../core/tf.ts';
import { predictProbabilities, type InferenceOptions } from '../core/classifier.ts';
import { NUM_CLASSES } from '../core/labels.ts';
import type { Dataset } from './dataset.ts';

export const PREDICT_BATCH = 64;

/** Probability rows (CLASS_CODES order) for the dataset images at the given positions. */
export async function predictDataset(model: tf.LayersModel, ds: Dataset, indices: readonly number[],
  inference: InferenceOptions = { temperature: 1, tta: 'none' }, batchSize = PREDICT_BATCH): Promise<Float32Array[]> {
  const perImage = ds.size * ds.size * 3;
  const rows: Float32Array[] = [];
  for (let start = 0; start < indices.length; start += batchSize) {
    const batch = indices.slice(start, start + batchSize);
    const x = new Float32Array(batch.length * perImage);
    batch.forEach((index, row) => x.set(ds.pixels.subarray(index * perImage, (index + 1) * perImage), row * perImage));
    const probs = tf.tidy(() => predictProbabilities(model, tf.tensor4d(x, [batch.length, ds.size, ds.size, 3]), inference));
    const flat = (await probs.data()) as Float32Array;
    probs.dispose();
    for (let r = 0; r < batch.length; r++) rows.push(flat.slice(r * NUM_CLASSES, (r + 1) * NUM_CLASSES));
  }
  return rows;
}
