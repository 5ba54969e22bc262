/// <reference types="mocha" />
// The browser computes exactly the model input Node computes: preprocess() of the same pixels is
// bit-for-bit identical (SHA-256 of the Float32 output), and a PNG decoded by Chrome (the offscreen
// document's decodeImageBytes) gives sharp's pixels. Expectations come from Node:
// scripts/make-browser-fixtures.ts, kept in sync by test/node/browser-fixtures.test.ts.
import { expect } from '@open-wc/testing';
import { preprocess } from '../../core/preprocess.ts';
import { decodeImageBytes } from '../../extension/shared/decode.ts';
import { PNG_INPUT_SIZE, PNG_SPEC, PREPROCESS_CASES, syntheticRgba } from './fixtures/synthetic-rgba.ts';
import { fixtureBytes, sha256Hex } from './helpers.ts';

interface Expected {
  preprocess: { name: string; length: number; sha256: string; samples: [number, number][] }[];
  png: { width: number; height: number; rgbaSha256: string; preprocessSha256: string; samples: [number, number][] };
  jpeg: { inputSize: number; preprocessU16Base64: string };
}

async function loadExpected(): Promise<Expected> {
  return JSON.parse(new TextDecoder().decode(await fixtureBytes('parity-expected.json')));
}

/** On a hash mismatch, name the first sampled values that differ, so the failure says where. */
function sampleDiffs(actual: Float32Array, samples: [number, number][]): string {
  const diffs = samples
    .filter(([i, v]) => actual[i] !== v)
    .slice(0, 5)
    .map(([i, v]) => `[${i}] browser ${actual[i]} vs node ${v}`);
  return diffs.length ? diffs.join('; ') : 'sampled values agree; the difference is elsewhere';
}

describe('browser preprocessing matches Node', () => {
  it('preprocess() of formula images is bit-for-bit identical to Node', async () => {
    const expected = await loadExpected();
    expect(expected.preprocess.map((c) => c.name)).to.deep.equal(PREPROCESS_CASES.map((c) => c.name));
    for (const [k, spec] of PREPROCESS_CASES.entries()) {
      const out = preprocess(syntheticRgba(spec), spec.size);
      expect(out.length, spec.name).to.equal(expected.preprocess[k].length);
      const hash = await sha256Hex(out);
      expect(hash, `${spec.name}: ${sampleDiffs(out, expected.preprocess[k].samples)}`).to.equal(expected.preprocess[k].sha256);
    }
  });

  it('Chrome decodes the PNG to exactly the pixels sharp gives (and the formula made)', async () => {
    const expected = await loadExpected();
    const { image, type } = await decodeImageBytes(await fixtureBytes('synthetic.png'), 'image/png');
    expect(type).to.equal('image/png');
    expect([image.width, image.height]).to.deep.equal([expected.png.width, expected.png.height]);
    expect(await sha256Hex(image.data)).to.equal(expected.png.rgbaSha256);
    expect(await sha256Hex(image.data)).to.equal(await sha256Hex(syntheticRgba(PNG_SPEC).data));
    const input = preprocess(image, PNG_INPUT_SIZE);
    expect(await sha256Hex(input), sampleDiffs(input, expected.png.samples)).to.equal(expected.png.preprocessSha256);
  });

  it('a JPEG decoded by Chrome gives nearly the model input sharp gives (decoders may differ by rounding)', async () => {
    const expected = await loadExpected();
    const { image } = await decodeImageBytes(await fixtureBytes('synthetic.jpg'), 'image/jpeg');
    const input = preprocess(image, expected.jpeg.inputSize);
    const raw = Uint8Array.from(atob(expected.jpeg.preprocessU16Base64), (c) => c.charCodeAt(0));
    const node = new Uint16Array(raw.buffer);
    expect(node.length).to.equal(input.length);
    let max = 0;
    let sum = 0;
    for (let i = 0; i < input.length; i++) {
      const diff = Math.abs(input[i] - node[i] / 65535);
      max = Math.max(max, diff);
      sum += diff;
    }
    const mean = sum / input.length;
    console.log(`JPEG: Chrome vs sharp model input: max |diff| ${(max * 255).toFixed(3)}/255, mean ${(mean * 255).toFixed(4)}/255`);
    expect(max * 255, 'max difference in 8-bit levels').to.be.below(1);
    expect(mean * 255, 'mean difference in 8-bit levels').to.be.below(0.1);
  });
});
