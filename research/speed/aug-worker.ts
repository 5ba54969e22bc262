// Worker for research/speed/overlap-aug.ts: augments a batch in pure JS (augmentPixels) off the main thread.
import { parentPort } from 'node:worker_threads';
import { augmentPixels, type ImageAugmentParams, type FillMode } from '../../trainer/train/augment.ts';
parentPort!.on(
  'message',
  (m: { data: Float32Array; shape: [number, number, number, number]; params: ImageAugmentParams[]; fill: FillMode }) => {
    const out = augmentPixels(m.data, m.shape, m.params, m.fill);
    parentPort!.postMessage(out, [out.buffer as ArrayBuffer]);
  },
);
