// Times loadDataset on a real image folder: a first (decoding) run and a cached run.
// Usage: npx tsx scripts/bench-dataset-load.ts <metadata.csv> <imageDir> <size> <cacheDir>
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { basename } from 'node:path';
import { parseLabelsCsv } from '../trainer/data/metadata.ts';
import { loadDataset } from '../trainer/data/dataset.ts';

const [csvPath, imageDir, sizeArg, cacheDir] = process.argv.slice(2);
if (!csvPath || !imageDir || !sizeArg || !cacheDir) {
  console.error('usage: npx tsx scripts/bench-dataset-load.ts <metadata.csv> <imageDir> <size> <cacheDir>');
  process.exit(2);
}
const size = Number(sizeArg);
const items = parseLabelsCsv(readFileSync(csvPath, 'utf8'), basename(csvPath));
await rm(cacheDir, { recursive: true, force: true });
for (const run of ['first (decode + write cache)', 'cached']) {
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  const ds = await loadDataset({ images: items, imageDir, size, cacheDir });
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  console.log(
    JSON.stringify({
      run,
      size,
      seconds: Number(seconds.toFixed(2)),
      // CPU time of this process (all threads, sharp's included): less sensitive to other jobs than wall time.
      cpuSeconds: Number(((cpu.user + cpu.system) / 1e6).toFixed(2)),
      loaded: ds.items.length,
      skipped: ds.skipped.length,
      cache: ds.cache.status,
      pixelsMB: Math.round(ds.pixels.byteLength / 2 ** 20),
      rssMB: Math.round(process.memoryUsage().rss / 2 ** 20),
      loadavg1m: Number(loadavg()[0].toFixed(2)),
    }),
  );
}
