// Random training-time augmentation of a batch of images in [0, 1].
//
// Why not tf.image.transform: in tfjs 4.22 the cpu kernel returns after the first image of a batch
// (the `return` sits inside its batch loop, so images 2..n come back as fill value 0), and
// tfjs-node registers no Transform kernel at all. A gather-based version in tf ops (one batched
// tf.gather of the 4 bilinear corners, then mul + sum) works everywhere but took 410 ms (original
// recipe) to 710 ms (strong) per 32x64x64 batch on the cpu backend, mostly in gather and the
// broadcast multiply. The warp itself is ~1.5 M multiply-adds, which plain JS does in a few ms, so
// the batch is read once (dataSync), warped and colour-jittered in one pass per image with exactly
// TF's sampling rules, and uploaded as a new tensor: 11-13 ms per 32x64x64 batch, 22-34 ms at 96 px
// (measured while other jobs shared the 2 cores). Same result on the tensorflow, wasm and cpu
// backends; the tests check it against tf.image.transform image by image.
import { tf } from '../../core/tf.ts';
import { inputShape, type InputSize } from '../../core/preprocess.ts';

export { makeRng } from '../data/rng.ts';

/** How pixels outside the source image are filled (TF semantics). Keras' ImageDataGenerator default was 'nearest'. */
export type FillMode = 'nearest' | 'reflect';

export interface AugmentOptions {
  /** Maximum absolute rotation in degrees; each image gets a uniform angle in [-rotation, rotation]. */
  rotation: number;
  /** Maximum shift as a fraction of width/height, uniform in [-shift, shift] per axis. */
  shift: number;
  /** Zoom range: scale factors per axis uniform in [1 - zoom, 1 + zoom] (Keras zoom_range semantics; < 1 zooms in). */
  zoom: number;
  /** Mirror left-right with probability 0.5. */
  hflip: boolean;
  /** Mirror top-bottom with probability 0.5. */
  vflip: boolean;
  /** 0 = off. Brightness, contrast and saturation factors uniform in [1 - s, 1 + s] (torchvision ColorJitter semantics). */
  colorJitter?: number;
  /** Default 'nearest'. */
  fillMode?: FillMode;
  /**
   * 0 = off. Probability per image of a dermoscope's circular field of view: everything outside a random
   * ellipse (diameter 0.8-1.4 of the image, axis ratio 0.75-1.25, centre within 5% of the middle) becomes
   * near-black (0-0.08). Applied last, after the warp and the colours, as the camera would see it.
   */
  fieldOfView?: number;
}

/** A field of view drawn for one image: an ellipse in pixel coordinates (pixel centres at x + 0.5), and the fill outside it. */
export interface FieldOfView {
  centreX: number;
  centreY: number;
  radiusX: number;
  radiusY: number;
  fill: number;
}

/** The ranges the field of view is drawn from (the GPU sweep's, research/gpu_sweep_mnv2.py apply_fov). */
export const FIELD_OF_VIEW_RANGES = Object.freeze({
  diameter: [0.8, 1.4],
  aspect: [0.75, 1.25],
  centreJitter: 0.05,
  fill: [0, 0.08],
} as const);

/**
 * A random field of view for a width x height model input from 5 uniform [0, 1) draws (diameter, axis ratio,
 * centre x, centre y, fill). Drawn in the units of the 4:3 photo the input shows (as centredFieldOfView): on a
 * square input the photo is squeezed in, so the ellipse spans the width and height alike; on a W x H input, which
 * shows the photo's W:H centre crop unsquashed, one photo unit is the same number of pixels across and down
 * (at 4:3, e.g. 160x120, both forms give the same ellipse).
 */
export function drawFieldOfView(u: readonly number[], width: number, height: number): FieldOfView {
  const { diameter, aspect, centreJitter, fill } = FIELD_OF_VIEW_RANGES;
  const d = between(u[0], diameter[0], diameter[1]);
  const a = between(u[1], aspect[0], aspect[1]);
  const unit = width / height > 4 / 3 ? width / 4 : height / 3;
  return {
    centreX: (0.5 + between(u[2], -centreJitter, centreJitter)) * width,
    centreY: (0.5 + between(u[3], -centreJitter, centreJitter)) * height,
    radiusX: width === height ? (d / 2) * a * width : (d / 2) * a * 4 * unit,
    radiusY: width === height ? (d / 2) * height : (d / 2) * 3 * unit,
    fill: between(u[4], fill[0], fill[1]),
  };
}

/**
 * The fixed field of view the checks use: black outside a centred circle whose diameter is `diameter` times
 * the height of a 4:3 landscape photo (HAM10000's shape), as that circle lands on the model input: on a
 * square input an ellipse 3/4 as wide as it is tall (the whole photo squeezed in); on a non-square W x H
 * input, which shows the photo's centre crop of W:H unsquashed (core/preprocess.ts inputCrop), a circle.
 */
export function centredFieldOfView(size: InputSize, diameter = 1): FieldOfView {
  const { width, height } = inputShape(size);
  if (width === height) {
    return { centreX: width / 2, centreY: width / 2, radiusX: (diameter / 2) * width * 0.75, radiusY: (diameter / 2) * width, fill: 0 };
  }
  // The photo is 4 x 3 units; the input shows its W:H centre crop, one unit a fixed number of input pixels.
  const unit = width / height > 4 / 3 ? width / 4 : height / 3;
  const radius = (diameter / 2) * 3 * unit;
  return { centreX: width / 2, centreY: height / 2, radiusX: radius, radiusY: radius, fill: 0 };
}

/** The original Keras app's ImageDataGenerator: rotation_range=10, zoom_range=0.1, width/height_shift_range=0.1, both flips, fill 'nearest'. */
export const ORIGINAL_AUGMENT: Readonly<AugmentOptions> = Object.freeze({
  rotation: 10,
  shift: 0.1,
  zoom: 0.1,
  hflip: true,
  vflip: true,
  colorJitter: 0,
  fillMode: 'nearest',
});

/**
 * A stronger recipe. Dermoscopic images have no canonical orientation, so any rotation and both
 * flips are label-preserving; reflect fill avoids the smeared edge streaks 'nearest' leaves at large
 * angles. Mild colour jitter covers differences between dermatoscopes and lighting.
 */
export const STRONG_AUGMENT: Readonly<AugmentOptions> = Object.freeze({
  rotation: 180,
  shift: 0.1,
  zoom: 0.2,
  hflip: true,
  vflip: true,
  colorJitter: 0.15,
  fillMode: 'reflect',
});

/** The random draw for one image. Angles in radians, shifts in pixels. */
export interface ImageAugmentParams {
  angle: number;
  shiftX: number;
  shiftY: number;
  zoomX: number;
  zoomY: number;
  hflip: boolean;
  vflip: boolean;
  brightness: number;
  contrast: number;
  saturation: number;
  /** null: no field-of-view mask. */
  fieldOfView: FieldOfView | null;
}

export const IDENTITY_PARAMS: Readonly<ImageAugmentParams> = Object.freeze({
  angle: 0,
  shiftX: 0,
  shiftY: 0,
  zoomX: 1,
  zoomY: 1,
  hflip: false,
  vflip: false,
  brightness: 1,
  contrast: 1,
  saturation: 1,
  fieldOfView: null,
});

export function validateAugmentOptions(opts: AugmentOptions): void {
  const check = (name: string, value: number | undefined, lo: number, hi: number, hiInclusive: boolean) => {
    if (value === undefined) return;
    if (!Number.isFinite(value) || value < lo || (hiInclusive ? value > hi : value >= hi)) {
      throw new Error(`augment option ${name} must be in [${lo}, ${hi}${hiInclusive ? ']' : ')'}, got ${value}`);
    }
  };
  check('rotation', opts.rotation, 0, 180, true);
  check('shift', opts.shift, 0, 1, false);
  check('zoom', opts.zoom, 0, 1, false);
  check('colorJitter', opts.colorJitter, 0, 1, true);
  check('fieldOfView', opts.fieldOfView, 0, 1, true);
  if (opts.fillMode !== undefined && opts.fillMode !== 'nearest' && opts.fillMode !== 'reflect') {
    throw new Error(`augment option fillMode must be 'nearest' or 'reflect', got ${String(opts.fillMode)}`);
  }
}

/** Maps a uniform [0, 1) draw to [lo, hi). */
const between = (u: number, lo: number, hi: number) => lo + (hi - lo) * u;

/**
 * Draws one parameter set per image. Always consumes the same number of rng values per image, so a seed
 * fixes the whole stream: 10, plus 6 when fieldOfView > 0 (so recipes without it draw as they always did).
 */
export function sampleAugmentParams(
  count: number,
  height: number,
  width: number,
  rng: () => number,
  opts: AugmentOptions,
): ImageAugmentParams[] {
  validateAugmentOptions(opts);
  const jitter = opts.colorJitter ?? 0;
  const fovProbability = opts.fieldOfView ?? 0;
  const params: ImageAugmentParams[] = [];
  for (let i = 0; i < count; i++) {
    const r = Array.from({ length: 10 }, rng);
    let fieldOfView: FieldOfView | null = null;
    if (fovProbability > 0) {
      const f = Array.from({ length: 6 }, rng);
      if (f[0] < fovProbability) fieldOfView = drawFieldOfView(f.slice(1), width, height);
    }
    params.push({
      angle: (between(r[0], -opts.rotation, opts.rotation) * Math.PI) / 180,
      shiftX: between(r[1], -opts.shift, opts.shift) * width,
      shiftY: between(r[2], -opts.shift, opts.shift) * height,
      zoomX: between(r[3], 1 - opts.zoom, 1 + opts.zoom),
      zoomY: between(r[4], 1 - opts.zoom, 1 + opts.zoom),
      hflip: opts.hflip && r[5] < 0.5,
      vflip: opts.vflip && r[6] < 0.5,
      brightness: between(r[7], 1 - jitter, 1 + jitter),
      contrast: between(r[8], 1 - jitter, 1 + jitter),
      saturation: between(r[9], 1 - jitter, 1 + jitter),
      fieldOfView,
    });
  }
  return params;
}

/** TF's coordinate mapping for out-of-range source positions (tensorflow/core/kernels/image/image_ops.h). */
function mapCoord(coord: number, len: number, mode: FillMode): number {
  let c = coord;
  if (mode === 'reflect') {
    if (c < 0) {
      if (len <= 1) c = 0;
      else {
        const sz2 = 2 * len;
        if (c < sz2) c = sz2 * Math.trunc(-c / sz2) + c;
        c = c < -len ? c + sz2 : -c - 1;
      }
    } else if (c > len - 1) {
      if (len <= 1) c = 0;
      else {
        const sz2 = 2 * len;
        c -= sz2 * Math.trunc(c / sz2);
        if (c >= len) c = sz2 - c - 1;
      }
    }
  }
  return Math.min(Math.max(c, 0), len - 1);
}

const isGeometricIdentity = (p: ImageAugmentParams) =>
  p.angle === 0 && p.shiftX === 0 && p.shiftY === 0 && p.zoomX === 1 && p.zoomY === 1 && !p.hflip && !p.vflip;
const isColourIdentity = (p: ImageAugmentParams) => p.brightness === 1 && p.contrast === 1 && p.saturation === 1;

/** Rec. 601 luma, as torchvision and tf.image.rgbToGrayscale use. */
const LUMA = [0.299, 0.587, 0.114] as const;
const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);

/**
 * torchvision ColorJitter order and formulas, clamping after each step: brightness scales,
 * contrast blends with the image's mean luma, saturation blends with each pixel's luma.
 */
function jitterColours(img: Float32Array, p: ImageAugmentParams): void {
  const pixels = img.length / 3;
  let lumaSum = 0;
  for (let i = 0; i < img.length; i += 3) {
    const r = clamp01(img[i] * p.brightness);
    const g = clamp01(img[i + 1] * p.brightness);
    const b = clamp01(img[i + 2] * p.brightness);
    img[i] = r;
    img[i + 1] = g;
    img[i + 2] = b;
    lumaSum += LUMA[0] * r + LUMA[1] * g + LUMA[2] * b;
  }
  const mean = lumaSum / pixels;
  const c = p.contrast;
  const s = p.saturation;
  for (let i = 0; i < img.length; i += 3) {
    const r = clamp01(mean + (img[i] - mean) * c);
    const g = clamp01(mean + (img[i + 1] - mean) * c);
    const b = clamp01(mean + (img[i + 2] - mean) * c);
    const gray = LUMA[0] * r + LUMA[1] * g + LUMA[2] * b;
    img[i] = clamp01(gray + (r - gray) * s);
    img[i + 1] = clamp01(gray + (g - gray) * s);
    img[i + 2] = clamp01(gray + (b - gray) * s);
  }
}

/** In place: everything outside the ellipse becomes the fill value (all channels) in one HWC image. */
export function maskFieldOfView(img: Float32Array, width: number, height: number, channels: number, f: FieldOfView): void {
  for (let y = 0; y < height; y++) {
    const ny = (y + 0.5 - f.centreY) / f.radiusY;
    const rest = 1 - ny * ny;
    for (let x = 0; x < width; x++) {
      const nx = (x + 0.5 - f.centreX) / f.radiusX;
      if (nx * nx > rest) img.fill(f.fill, (y * width + x) * channels, (y * width + x + 1) * channels);
    }
  }
}

/**
 * Pure-JS core: warps (bilinear, TF sampling rules) and colour-jitters a batch of HWC float images
 * laid out back to back, returning a new array. Usable on a batch before it becomes a tensor.
 */
export function augmentPixels(
  data: Float32Array,
  shape: readonly [number, number, number, number],
  params: readonly ImageAugmentParams[],
  fillMode: FillMode = 'nearest',
): Float32Array {
  const [batch, height, width, channels] = shape;
  const perImage = height * width * channels;
  if (data.length !== batch * perImage) throw new Error(`augmentPixels: ${data.length} values do not fit shape [${shape.join(', ')}]`);
  if (params.length !== batch) throw new Error(`augmentPixels: ${params.length} parameter sets for a batch of ${batch}`);
  const out = new Float32Array(data.length);
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  params.forEach((p, b) => {
    const base = b * perImage;
    const img = out.subarray(base, base + perImage);
    if (isGeometricIdentity(p)) {
      img.set(data.subarray(base, base + perImage));
    } else {
      const cos = Math.cos(p.angle);
      const sin = Math.sin(p.angle);
      // Source point = centre + R(angle) * Zoom * Flip * (output - centre) + shift.
      const fx = (p.hflip ? -1 : 1) * p.zoomX;
      const fy = (p.vflip ? -1 : 1) * p.zoomY;
      let o = 0;
      for (let y = 0; y < height; y++) {
        const dy = (y - cy) * fy;
        for (let x = 0; x < width; x++) {
          const dx = (x - cx) * fx;
          const sx = mapCoord(cos * dx - sin * dy + cx + p.shiftX, width, fillMode);
          const sy = mapCoord(sin * dx + cos * dy + cy + p.shiftY, height, fillMode);
          const x0 = Math.floor(sx);
          const y0 = Math.floor(sy);
          const ax = sx - x0;
          const ay = sy - y0;
          // mapCoord keeps sx in [0, width-1]; x0 + 1 can only leave the image when ax = 0 (zero weight).
          const x1 = Math.min(x0 + 1, width - 1);
          const y1 = Math.min(y0 + 1, height - 1);
          const i00 = base + (y0 * width + x0) * channels;
          const i01 = base + (y0 * width + x1) * channels;
          const i10 = base + (y1 * width + x0) * channels;
          const i11 = base + (y1 * width + x1) * channels;
          const w00 = (1 - ax) * (1 - ay);
          const w01 = ax * (1 - ay);
          const w10 = (1 - ax) * ay;
          const w11 = ax * ay;
          for (let c = 0; c < channels; c++) {
            img[o++] = w00 * data[i00 + c] + w01 * data[i01 + c] + w10 * data[i10 + c] + w11 * data[i11 + c];
          }
        }
      }
    }
    if (!isColourIdentity(p)) {
      if (channels !== 3) throw new Error(`augmentPixels: colour jitter needs RGB images, got ${channels} channels`);
      jitterColours(img, p);
    }
    if (p.fieldOfView) maskFieldOfView(img, width, height, channels, p.fieldOfView);
  });
  return out;
}

/** Applies the given per-image parameters: one affine warp (flips folded in), then brightness, contrast, saturation, then the field of view. Returns a new tensor. */
export function applyAugment(x: tf.Tensor4D, params: readonly ImageAugmentParams[], fillMode: FillMode = 'nearest'): tf.Tensor4D {
  if (x.dtype !== 'float32') throw new Error(`applyAugment: expected a float32 batch, got ${x.dtype}`);
  const shape = x.shape as [number, number, number, number];
  return tf.tensor4d(augmentPixels(x.dataSync() as Float32Array, shape, params, fillMode), shape);
}

/** One random augmentation per image of a float32 [B,H,W,3] batch in [0, 1]; the result is a new tensor, still in [0, 1]. */
export function augmentBatch(x: tf.Tensor4D, rng: () => number, opts: AugmentOptions): tf.Tensor4D {
  const [batch, height, width] = x.shape;
  const params = sampleAugmentParams(batch, height, width, rng, opts);
  return applyAugment(x, params, opts.fillMode ?? 'nearest');
}
