// Writes a tiny synthetic dataset in the HAM10000 layout: HAM10000_metadata.csv plus JPEGs split over
// two nested folders (like HAM10000_images_part_1/_2). Each class has its own colour and pattern so a
// small model learns it in a few epochs; some images share a lesion id; one file is corrupt.
// Generated here, never copied from the real (CC BY-NC) images.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { CLASS_CODES } from '../../../core/labels.ts';
import { makeRng } from '../../../trainer/data/rng.ts';

/** One base colour per class (RGB 0-255), far apart so classes are separable at any size. */
export const COLOURS: Array<[number, number, number]> = [
  [220, 60, 60],
  [60, 200, 70],
  [70, 80, 220],
  [230, 220, 60],
  [150, 60, 200],
  [60, 210, 210],
  [245, 150, 40],
];

export interface SyntheticHam {
  dir: string;
  metadataPath: string;
  imageIds: string[];
  corruptId: string;
  /** image id -> class index */
  labels: Map<string, number>;
  /** Paths of a few valid images, for classify tests. */
  samplePaths: string[];
}

async function lesionImage(label: number, rng: () => number, width = 40, height = 30): Promise<Buffer> {
  const [r, g, b] = COLOURS[label];
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      // Stripes whose period depends on the class, on top of the class colour, plus noise.
      const stripe = (x + y * (label % 3)) % (3 + label) < 2 ? 0.75 : 1;
      const noise = () => (rng() - 0.5) * 40;
      const i = (y * width + x) * 3;
      data[i] = Math.max(0, Math.min(255, r * stripe + noise()));
      data[i + 1] = Math.max(0, Math.min(255, g * stripe + noise()));
      data[i + 2] = Math.max(0, Math.min(255, b * stripe + noise()));
    }
  }
  return sharp(data, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 95 })
    .toBuffer();
}

export async function writeSyntheticHam(dir: string, { perClass = 10, seed = 1 } = {}): Promise<SyntheticHam> {
  const rng = makeRng(seed);
  const parts = [join(dir, 'HAM10000_images_part_1'), join(dir, 'nested', 'HAM10000_images_part_2')];
  for (const p of parts) await mkdir(p, { recursive: true });
  const rows = ['lesion_id,image_id,dx,dx_type,age,sex,localization'];
  const labels = new Map<string, number>();
  const imageIds: string[] = [];
  const samplePaths: string[] = [];
  let n = 0;
  for (let label = 0; label < CLASS_CODES.length; label++) {
    for (let k = 0; k < perClass; k++) {
      const imageId = `ISIC_${String(9000000 + n).padStart(7, '0')}`;
      // Every third lesion has two images (k and k+1 share a lesion id).
      const lesionId = `HAM_${String(label * 1000 + (k % 3 === 1 ? k - 1 : k)).padStart(7, '0')}`;
      const path = join(parts[n % 2], `${imageId}.jpg`);
      await writeFile(path, await lesionImage(label, rng));
      if (k === 0) samplePaths.push(path);
      rows.push(`${lesionId},${imageId},${CLASS_CODES[label]},histo,50.0,female,back`);
      labels.set(imageId, label);
      imageIds.push(imageId);
      n++;
    }
  }
  const corruptId = `ISIC_${String(9000000 + n).padStart(7, '0')}`;
  await writeFile(join(parts[0], `${corruptId}.jpg`), Buffer.from('this is not a jpeg'));
  rows.push(`HAM_9999999,${corruptId},nv,histo,40.0,male,face`);
  const metadataPath = join(dir, 'HAM10000_metadata.csv');
  await writeFile(metadataPath, `${rows.join('\n')}\n`);
  return { dir, metadataPath, imageIds, corruptId, labels, samplePaths };
}
