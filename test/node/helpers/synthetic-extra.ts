// Writes a tiny extra data folder in isic-extra's layout: labels.csv (image_id, dx, lesion_id, dataset)
// and JPEGs below images/, with squashed_unknown_aspect.txt. Each picture is a class-coloured skin with a
// dark "lesion" ellipse at its own random place and size, so two pictures are told apart by their
// signatures (trainer/data/picture-hash.ts) while the class stays learnable; `copies` adds pictures that
// are another id's picture rescaled and squashed to a square, as the ISIC archive holds them.
// Generated here, never copied from the real (CC BY-NC) images.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { CLASS_CODES } from '../../../core/labels.ts';
import { makeRng } from '../../../trainer/data/rng.ts';
import { COLOURS } from './synthetic-ham.ts';

export interface ExtraRow {
  imageId: string;
  dx: string;
  lesionId?: string;
  dataset: string;
}

/** A picture: class colour, one dark ellipse at a random place, a random light gradient. */
export async function extraPicture(label: number, rng: () => number, width = 48, height = 36): Promise<Buffer> {
  const [r, g, b] = COLOURS[label];
  const cx = width * (0.2 + 0.6 * rng());
  const cy = height * (0.2 + 0.6 * rng());
  const rx = width * (0.1 + 0.25 * rng());
  const ry = height * (0.1 + 0.25 * rng());
  const gx = rng() - 0.5;
  const gy = rng() - 0.5;
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inside = ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1;
      const light = 1 + 0.5 * (gx * (x / width - 0.5) + gy * (y / height - 0.5));
      const f = (inside ? 0.35 : 1) * light;
      const i = (y * width + x) * 3;
      data[i] = Math.min(255, r * f);
      data[i + 1] = Math.min(255, g * f);
      data[i + 2] = Math.min(255, b * f);
    }
  }
  return sharp(data, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 92 })
    .toBuffer();
}

/**
 * Writes the folder: `rows` pictures (random, one per row), then for each [copyId, ofId] in `copies` the
 * picture of ofId squashed to 40x40 under copyId (its row comes from `copyRows`). Returns the folder.
 */
export async function writeSyntheticExtra(
  dir: string,
  rows: ExtraRow[],
  { copies = [] as Array<{ row: ExtraRow; of: string }>, squashed = [] as string[], seed = 3 } = {},
): Promise<string> {
  const rng = makeRng(seed);
  await mkdir(join(dir, 'images'), { recursive: true });
  const pictures = new Map<string, Buffer>();
  for (const row of rows) {
    const picture = await extraPicture(CLASS_CODES.indexOf(row.dx as never), rng);
    pictures.set(row.imageId, picture);
    await writeFile(join(dir, 'images', `${row.imageId}.jpg`), picture);
  }
  for (const { row, of } of copies) {
    const squashedCopy = await sharp(pictures.get(of)!).resize(40, 40, { fit: 'fill' }).jpeg({ quality: 80 }).toBuffer();
    await writeFile(join(dir, 'images', `${row.imageId}.jpg`), squashedCopy);
  }
  const all = [...rows, ...copies.map((c) => c.row)];
  const csv = [
    'image_id,dx,original_label,lesion_id,dataset',
    ...all.map((r) => `${r.imageId},${r.dx},X,${r.lesionId ?? ''},${r.dataset}`),
  ];
  await writeFile(join(dir, 'labels.csv'), `${csv.join('\n')}\n`);
  if (squashed.length) await writeFile(join(dir, 'squashed_unknown_aspect.txt'), `${squashed.join('\n')}\n`);
  return dir;
}
