// `dermlens explain <image> --out heat.png`: classifies one image and writes it with the class activation
// map of its top class laid over it ("where it looked"), using the same model, preprocessing, flip
// averaging and temperature as `dermlens classify` and the extension (core/class-activation-map.ts).
import { parseArgs } from 'node:util';
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import sharp from 'sharp';
import { verdictJson, verdictWarning } from './verdict-text.ts';

export const EXPLAIN_HELP = `Usage: dermlens explain <image> --out <heat.png> [--model <dir|model.json>] [--json] [--backend <b>]

Classifies the image and writes it to --out with a heatmap of where the model looked: red marks the
regions that counted most for the top class, uncoloured regions counted least. The map is the class
activation map of the model's last convolutional features (exact for its global-average-pooling
head), from the same pass that gives the printed probabilities. Only the centre part the model sees
(at most 4:3) is coloured.

  --out <file.png>   where to write the image with its heatmap (required)
  --model <path>     model folder or model.json (default: extension/model/model.json)
  --json             print the probabilities and the raw map as JSON
  --backend <b>      auto | tensorflow | wasm | cpu (default auto)

A heatmap shows what the model used, not what is medically important. Not a diagnosis.
`;

/** The longest side of the written image: enough to see the lesion, small enough to share. */
const MAX_OUTPUT_SIDE = 800;

export async function explainCommand(args: string[], defaultModel: string): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      out: { type: 'string' },
      model: { type: 'string' },
      json: { type: 'boolean' },
      backend: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(EXPLAIN_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new Error('give one image file (dermlens explain --help)');
  if (!values.out) throw new Error('--out <file.png> is required (dermlens explain --help)');
  const { initBackend, isBackendPreference } = await import('../backends/select.ts');
  const preference = values.backend ?? 'auto';
  if (!isBackendPreference(preference)) throw new Error(`unknown --backend "${preference}" (choose auto, tensorflow, wasm or cpu)`);
  await initBackend(preference, {
    allowCpuForTraining: true,
    log: (line) => {
      if (!values.json) console.log(line);
    },
  });
  const { resolveModelJson } = await import('../evaluate/evaluate-model.ts');
  const { fileLoadHandler } = await import('../run/model-files.ts');
  const { decodeImage } = await import('../data/images.ts');
  const { load } = await import('../../core/classifier.ts');
  const { explainImage } = await import('../../core/class-activation-map.ts');
  const { classByCode, CLASS_CODES } = await import('../../core/labels.ts');

  const classifier = await load(fileLoadHandler(await resolveModelJson(values.model ?? defaultModel)));
  try {
    const file = positionals[0];
    const image = await decodeImage(file);
    const explanation = await explainImage(classifier, image);
    await writeHeatImage(image, explanation, values.out);
    const { map } = explanation;
    const k = CLASS_CODES.indexOf(map.code);
    // The gate's verdict from the same pass, as classify gives it (null without a gate).
    const verdict = classifier.verdict(explanation.kinds);
    if (values.json) {
      console.log(
        JSON.stringify({
          file,
          out: values.out,
          ...verdictJson(verdict),
          top: map.code,
          probabilities: Object.fromEntries(CLASS_CODES.map((code, i) => [code, explanation.probabilities[i]])),
          map: { width: map.width, height: map.height, values: map.values, crop: explanation.crop },
        }),
      );
    } else {
      if (verdict && !verdict.dermoscopic)
        console.log(`WARNING: ${file}: ${verdictWarning(verdict)} The lesion class and its map below mean nothing for it.`);
      console.log(`${file}: most likely ${classByCode(map.code).name} (${map.code}) ${(explanation.probabilities[k] * 100).toFixed(1)}%`);
      console.log(
        `wrote ${values.out}: red = where the model found the most evidence for ${map.code} (${map.width}x${map.height} feature grid)`,
      );
      console.log('\nNot a diagnosis: for research and education only. See a dermatologist about any lesion that worries you.');
    }
  } finally {
    classifier.dispose();
  }
  return 0;
}

/** The image with the top class's heatmap composited over the crop the model saw, as a PNG. */
async function writeHeatImage(
  image: { data: Uint8Array | Uint8ClampedArray; width: number; height: number },
  {
    map,
    crop,
  }: { map: import('../../core/class-activation-map.ts').ActivationMap; crop: { x: number; y: number; width: number; height: number } },
  out: string,
): Promise<void> {
  const { heatmapRgba } = await import('../../core/heatmap-image.ts');
  const overlay = heatmapRgba(map, crop.width, crop.height);
  const scale = Math.min(1, MAX_OUTPUT_SIDE / Math.max(image.width, image.height));
  await mkdir(dirname(resolve(out)), { recursive: true });
  const composed = await sharp(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength), {
    raw: { width: image.width, height: image.height, channels: 4 },
  })
    .composite([
      { input: Buffer.from(overlay.buffer), raw: { width: crop.width, height: crop.height, channels: 4 }, left: crop.x, top: crop.y },
    ])
    .raw()
    .toBuffer({ resolveWithObject: true });
  await sharp(composed.data, { raw: { width: image.width, height: image.height, channels: 4 } })
    .resize(Math.round(image.width * scale), Math.round(image.height * scale))
    .png()
    .toFile(out);
}
