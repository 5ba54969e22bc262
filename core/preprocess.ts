import { tf } from './tf.ts';

/**
 * Raw RGBA pixels, 4 bytes per pixel, row-major: exactly what ImageData (canvas) and sharp's
 * `.ensureAlpha().raw()` give, so the browser and Node feed this module the same thing.
 */
export interface RgbaImage {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
}

/**
 * Bumped whenever the pixels -> tensor mapping changes, so caches and exported models can tell a
 * model trained on one mapping from input prepared by another.
 */
export const PREPROCESS_VERSION = 'rgba-crop4:3-area-v1';
/**
 * The mapping for a non-square input W x H: centre-crop to exactly W:H, area-resize to W x H (no
 * squashing). Square inputs keep PREPROCESS_VERSION, byte for byte.
 */
export const ASPECT_PREPROCESS_VERSION = 'rgba-crop-input-aspect-area-v1';

/** A model input's size in pixels (the tensor is [n, height, width, 3]). */
export interface InputShape {
  readonly width: number;
  readonly height: number;
}

/**
 * A model input: one number for a square input (every model before issue 24), `"WxH"` (width x height,
 * the form `--size` and a run's config.json take), or its width and height.
 */
export type InputSize = number | `${number}x${number}` | InputShape;

/** The width and height of an input size; throws ImageInputError unless both are positive integers. */
export function inputShape(size: InputSize): InputShape {
  let shape: InputShape;
  if (typeof size === 'number') shape = { width: size, height: size };
  else if (typeof size === 'string') {
    const m = /^(\d+)x(\d+)$/.exec(size);
    shape = m ? { width: Number(m[1]), height: Number(m[2]) } : { width: NaN, height: NaN };
  } else shape = { width: size.width, height: size.height };
  if (!Number.isInteger(shape.width) || !Number.isInteger(shape.height) || shape.width <= 0 || shape.height <= 0) {
    throw new ImageInputError(`Invalid model input size ${typeof size === 'object' ? `${size.width}x${size.height}` : size}.`);
  }
  return shape;
}

/** How a run's config.json and the dataset cache state an input: the side of a square input (128), "WxH" otherwise ("160x120"). */
export type CanonicalInputSize = number | `${number}x${number}`;

/** The canonical form of an input size (CanonicalInputSize); "128x128" becomes 128. */
export function canonicalInputSize(size: InputSize): CanonicalInputSize {
  const { width, height } = inputShape(size);
  return width === height ? width : `${width}x${height}`;
}

/** "128" for a square input, "160x120" (width x height) otherwise: the form `--size` takes and the logs print. */
export function formatInputSize(size: InputSize): string {
  return String(canonicalInputSize(size));
}

/** The preprocessing version of an input: PREPROCESS_VERSION for a square one, ASPECT_PREPROCESS_VERSION otherwise. */
export function preprocessVersion(size: InputSize): string {
  const { width, height } = inputShape(size);
  return width === height ? PREPROCESS_VERSION : ASPECT_PREPROCESS_VERSION;
}

/** Smallest side we accept: below this there is no lesion detail left to classify. */
export const MIN_IMAGE_SIDE = 16;
/** Widest aspect ratio kept whole: HAM10000's dermoscopy images are 4:3 (600x450). */
export const MAX_ASPECT = 4 / 3;

export class ImageInputError extends Error {
  override name = 'ImageInputError';
}

/** Checks the pixel buffer matches its stated size; throws a readable error otherwise. */
export function validateRgba(image: RgbaImage): void {
  const { data, width, height } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new ImageInputError(`Image has an invalid size ${width}x${height}.`);
  }
  if (!data || data.length !== width * height * 4) {
    throw new ImageInputError(`Image data has ${data?.length ?? 0} bytes but ${width}x${height} RGBA needs ${width * height * 4}.`);
  }
  if (width < MIN_IMAGE_SIDE || height < MIN_IMAGE_SIDE) {
    throw new ImageInputError(`Image is too small (${width}x${height}); at least ${MIN_IMAGE_SIDE}x${MIN_IMAGE_SIDE} pixels are needed.`);
  }
}

/**
 * The centred crop that limits the aspect ratio to MAX_ASPECT (either orientation). The model was
 * trained on 4:3 images squeezed to a square, so anything within 4:3 is used whole and a panorama or
 * a tall screenshot is cropped to its centre instead of being squashed beyond what training saw.
 */
export function centreCrop(width: number, height: number): { x: number; y: number; width: number; height: number } {
  let w = width;
  let h = height;
  if (w / h > MAX_ASPECT) w = Math.round(h * MAX_ASPECT);
  else if (h / w > MAX_ASPECT) h = Math.round(w * MAX_ASPECT);
  return { x: Math.floor((width - w) / 2), y: Math.floor((height - h) / 2), width: w, height: h };
}

/**
 * The part of a width x height image that preprocessing maps onto a model input of `size`: for a square
 * input centreCrop (at most 4:3, then squeezed into the square); for a non-square W x H input the centred
 * crop of exactly W:H (to the nearest pixel), which is resized without squashing.
 */
export function inputCrop(width: number, height: number, size: InputSize): { x: number; y: number; width: number; height: number } {
  const shape = inputShape(size);
  if (shape.width === shape.height) return centreCrop(width, height);
  const aspect = shape.width / shape.height;
  let w = width;
  let h = height;
  if (w / h > aspect) w = Math.min(width, Math.max(1, Math.round(h * aspect)));
  else h = Math.min(height, Math.max(1, Math.round(w / aspect)));
  return { x: Math.floor((width - w) / 2), y: Math.floor((height - h) / 2), width: w, height: h };
}

/**
 * Resampling weights along one axis: for each output index, the source indices it reads and their
 * weights (summing to 1). Downscaling averages the source pixels each output pixel covers, weighted by
 * the covered fraction (area averaging, i.e. antialiased like Keras/PIL's "area"); upscaling, where a
 * box would cover less than one source pixel, uses linear interpolation between pixel centres instead,
 * because area averaging degenerates to blocky nearest-neighbour there.
 */
function axisWeights(srcStart: number, srcLen: number, dstLen: number): { index: Int32Array; weight: Float64Array; offset: Int32Array } {
  const index: number[] = [];
  const weight: number[] = [];
  const offset = new Int32Array(dstLen + 1);
  const scale = srcLen / dstLen;
  for (let o = 0; o < dstLen; o++) {
    offset[o] = index.length;
    if (scale >= 1) {
      const lo = o * scale;
      const hi = lo + scale;
      for (let s = Math.floor(lo); s < Math.ceil(hi) && s < srcLen; s++) {
        const cover = Math.min(hi, s + 1) - Math.max(lo, s);
        if (cover > 1e-12) {
          index.push(srcStart + s);
          weight.push(cover / scale);
        }
      }
    } else {
      const centre = Math.min(Math.max((o + 0.5) * scale - 0.5, 0), srcLen - 1);
      const s0 = Math.floor(centre);
      const s1 = Math.min(s0 + 1, srcLen - 1);
      const t = centre - s0;
      index.push(srcStart + s0);
      weight.push(1 - t);
      if (s1 !== s0 && t > 0) {
        index.push(srcStart + s1);
        weight.push(t);
      }
    }
  }
  offset[dstLen] = index.length;
  return { index: Int32Array.from(index), weight: Float64Array.from(weight), offset };
}

/**
 * Pixels -> model input: centre-crop (inputCrop: at most 4:3 for a square input, exactly W:H for a
 * non-square one), resize to the input's width x height (area averaging), drop alpha by compositing over
 * white (a transparent PNG region reads as white paper, not as black pigment), scale to [0, 1].
 * Grayscale images arrive as RGBA with R = G = B and stay gray. Pure JavaScript on purpose: the same
 * arithmetic in Node and in every browser, so training and serving see identical inputs. Returns HWC
 * float32, length height*width*3.
 */
export function preprocess(image: RgbaImage, size: InputSize): Float32Array {
  validateRgba(image);
  const { width: outW, height: outH } = inputShape(size);
  const crop = inputCrop(image.width, image.height, size);
  const cols = axisWeights(crop.x, crop.width, outW);
  const rows = axisWeights(crop.y, crop.height, outH);
  const { data, width } = image;

  // Horizontal pass over the cropped rows into a float buffer (premultiplied by alpha),
  // then the vertical pass; separable, so O(pixels) rather than O(pixels * box area).
  const rowStart = crop.y;
  const tmp = new Float64Array(crop.height * outW * 4);
  for (let y = 0; y < crop.height; y++) {
    const srcRow = (rowStart + y) * width * 4;
    for (let o = 0; o < outW; o++) {
      let r = 0,
        g = 0,
        b = 0,
        a = 0;
      for (let k = cols.offset[o]; k < cols.offset[o + 1]; k++) {
        const p = srcRow + cols.index[k] * 4;
        const wa = cols.weight[k] * data[p + 3];
        r += wa * data[p];
        g += wa * data[p + 1];
        b += wa * data[p + 2];
        a += wa;
      }
      const t = (y * outW + o) * 4;
      tmp[t] = r;
      tmp[t + 1] = g;
      tmp[t + 2] = b;
      tmp[t + 3] = a;
    }
  }
  const out = new Float32Array(outH * outW * 3);
  for (let oy = 0; oy < outH; oy++) {
    for (let ox = 0; ox < outW; ox++) {
      let r = 0,
        g = 0,
        b = 0,
        a = 0;
      for (let k = rows.offset[oy]; k < rows.offset[oy + 1]; k++) {
        const t = ((rows.index[k] - rowStart) * outW + ox) * 4;
        const w = rows.weight[k];
        r += w * tmp[t];
        g += w * tmp[t + 1];
        b += w * tmp[t + 2];
        a += w * tmp[t + 3];
      }
      // r,g,b are alpha-weighted sums (0..255*255); composite over white: c*a + 255*(255-a).
      const white = 255 * (255 - a);
      const o = (oy * outW + ox) * 3;
      out[o] = (r + white) / (255 * 255);
      out[o + 1] = (g + white) / (255 * 255);
      out[o + 2] = (b + white) / (255 * 255);
    }
  }
  return out;
}

/** A batch of images -> [n, height, width, 3] float32 tensor (the caller owns and disposes it). */
export function pixelsToTensor(images: RgbaImage[], size: InputSize): tf.Tensor4D {
  const { width, height } = inputShape(size);
  const per = height * width * 3;
  const batch = new Float32Array(images.length * per);
  images.forEach((image, i) => batch.set(preprocess(image, size), i * per));
  return tf.tensor4d(batch, [images.length, height, width, 3]);
}
