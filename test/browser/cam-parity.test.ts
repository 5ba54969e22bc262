/// <reference types="mocha" />
// "Where it looked" in Chromium on the wasm backend (the extension's) gives the probabilities and map
// Node computes for the same pixels and model (test/shared/cam-case.ts; expectation from
// scripts/make-cam-fixture.ts, kept current by test/node/cam-fixture.test.ts), and leaks no tensors.
import { expect } from '@open-wc/testing';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { tf } from '../../core/tf.ts';
import { camCaseClassifier, explainCamCase } from '../shared/cam-case.ts';
import { fixtureBytes } from './helpers.ts';

describe('"where it looked" in the browser matches Node', () => {
  it('same pixels, same model: same probabilities and map on wasm, no tensors leaked', async () => {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    setWasmPaths('/node_modules/@tensorflow/tfjs-backend-wasm/dist/');
    expect(await tf.setBackend('wasm')).to.equal(true);
    const expected = JSON.parse(new TextDecoder().decode(await fixtureBytes('cam-expected.json')));
    const classifier = await camCaseClassifier();
    const before = tf.memory().numTensors;
    const explained = await explainCamCase(classifier);
    expect(tf.memory().numTensors, 'explain leaks no tensors').to.equal(before);
    classifier.dispose();
    expect(explained.crop).to.deep.equal(expected.crop);
    expect(explained.map.code).to.equal(expected.map.code);
    expect([explained.map.width, explained.map.height]).to.deep.equal([expected.map.width, expected.map.height]);
    let maxMap = 0;
    explained.map.values.forEach((v, i) => {
      maxMap = Math.max(maxMap, Math.abs(v - expected.map.values[i]));
    });
    let maxP = 0;
    explained.probabilities.forEach((p, k) => {
      maxP = Math.max(maxP, Math.abs(p - expected.probabilities[k]));
    });
    console.log(`Chromium vs Node (wasm): max |map diff| ${maxMap.toExponential(2)}, max |probability diff| ${maxP.toExponential(2)}`);
    expect(maxMap).to.be.below(1e-5);
    expect(maxP).to.be.below(1e-6);
  });
});
