// Batched inference over a loaded dataset, through core/classifier.ts' predictProbabilities so the
// trainer's numbers describe exactly what the extension computes.
import { tf } from '../../core/tf.ts';
import { predictWithGate, type InferenceOptions } from '../../core/classifier.ts';
import { NUM_CLASSES } from '../../core/labels.ts';
import type { Dataset } from '../data/dataset.ts';

export const PREDICT_BATCH = 64;

/** Probability rows (CLASS_CODES order) for the dataset images at the given positions. */
export async function predictDataset(
  model: tf.LayersModel,
  ds: Dataset,
  indices: readonly number[],
  inference: InferenceOptions = { temperature: 1, tta: 'none' },
  batchSize = PREDICT_BATCH,
): Promise<Float32Array[]> {
  return (await predictDatasetWithGate(model, ds, indices, inference, batchSize)).probabilities;
}

/** predictDataset plus each image's kind probabilities [3] (dermoscopic, clinical, other) when the model has the gate (else null). */
export async function predictDatasetWithGate(
  model: tf.LayersModel,
  ds: Dataset,
  indices: readonly number[],
  inference: InferenceOptions = { temperature: 1, tta: 'none' },
  batchSize = PREDICT_BATCH,
): Promise<{ probabilities: Float32Array[]; kinds: Float32Array[] | null }> {
  const { width, height } = ds.shape;
  const perImage = height * width * 3;
  const rows: Float32Array[] = [];
  let kindRows: Float32Array[] | null = null;
  for (let start = 0; start < indices.length; start += batchSize) {
    const batch = indices.slice(start, start + batchSize);
    const x = new Float32Array(batch.length * perImage);
    batch.forEach((index, row) => x.set(ds.pixels.subarray(index * perImage, (index + 1) * perImage), row * perImage));
    const input = tf.tensor4d(x, [batch.length, height, width, 3]);
    const { probabilities, kinds } = predictWithGate(model, input, inference);
    input.dispose();
    const flat = (await probabilities.data()) as Float32Array;
    const kindFlat = kinds ? ((await kinds.data()) as Float32Array) : null;
    tf.dispose([probabilities, kinds ?? []]);
    for (let r = 0; r < batch.length; r++) rows.push(flat.slice(r * NUM_CLASSES, (r + 1) * NUM_CLASSES));
    if (kindFlat) for (let r = 0; r < batch.length; r++) (kindRows ??= []).push(kindFlat.slice(r * 3, (r + 1) * 3));
  }
  return { probabilities: rows, kinds: kindRows };
}
