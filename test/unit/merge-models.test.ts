import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-backend-cpu';
import { tf } from '../../core/tf.ts';
import { buildModel } from '../../core/models.ts';
import { foldBatchNorm } from '../../core/fold-batchnorm.ts';
import { ENSEMBLE_OUTPUT, mergeModels } from '../../trainer/model/merge.ts';

before(async () => {
  await tf.setBackend('cpu');
});

/** An untrained compact model whose BatchNorm statistics are not the identity, so they matter. */
function member(seed: number): tf.LayersModel {
  const model = buildModel('compact', { inputSize: 24, seed });
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    layer.setWeights(
      layer
        .getWeights()
        .map((w, k) =>
          tf.tidy(() =>
            k === 3 ? tf.randomUniform(w.shape, 0.5, 2, 'float32', seed + k) : tf.randomNormal(w.shape, 0, 0.3, 'float32', seed + k),
          ),
        ),
    );
  }
  return model;
}

test("the merged model outputs the mean of the members' probabilities, and survives save/load and folding", async () => {
  const members = [member(1), member(2), member(3)];
  const x = tf.randomUniform([5, 24, 24, 3], 0, 1, 'float32', 9) as tf.Tensor4D;
  const expected = tf.tidy(() => tf.div(tf.addN(members.map((m) => m.predict(x) as tf.Tensor)), members.length));
  const start = tf.memory().numTensors;
  const merged = await mergeModels(members);
  const weightTensors = merged.getWeights().length;
  assert.equal(
    weightTensors,
    members.reduce((n, m) => n + m.getWeights().length, 0),
    'every member weight is copied, nothing else added',
  );
  assert.equal(tf.memory().numTensors - start, weightTensors, 'merging allocates only the merged weights');
  assert.equal(merged.layers.at(-1)!.name, ENSEMBLE_OUTPUT);
  assert.deepEqual(merged.inputs[0].shape, [null, 24, 24, 3]);

  const out = merged.predict(x) as tf.Tensor;
  assert.ok(tf.max(tf.abs(tf.sub(out, expected))).dataSync()[0] < 1e-6);
  // The members really differ, so a merge that used one member's weights twice would fail above.
  const single = members[0].predict(x) as tf.Tensor;
  assert.ok(tf.max(tf.abs(tf.sub(single, expected))).dataSync()[0] > 1e-3);
  assert.ok(
    tf
      .sum(out, 1)
      .dataSync()
      .every((s) => Math.abs(s - 1) < 1e-5),
    'rows are probabilities',
  );

  // Save and reload (what the trainer exports and the extension loads) then fold its BatchNorms.
  let artifacts: tf.io.ModelArtifacts | undefined;
  await merged.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const reloaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts!));
  const folded = await foldBatchNorm(reloaded);
  assert.notEqual(folded, reloaded, "each member's conv + BatchNorm pairs fold in the merged graph");
  assert.ok(folded.layers.length < reloaded.layers.length);
  for (const m of [reloaded, folded]) {
    assert.ok(tf.max(tf.abs(tf.sub(m.predict(x) as tf.Tensor, expected))).dataSync()[0] < 1e-5);
  }
  tf.dispose([out, single, x, expected]);
  for (const m of [merged, reloaded, folded, ...members]) m.dispose();
});

test('merging refuses what it cannot merge, with a clear message', async () => {
  const a = buildModel('compact', { inputSize: 24, seed: 1 });
  const b = buildModel('compact', { inputSize: 32, seed: 1 });
  const seq = buildModel('seed', { inputSize: 24, seed: 1 });
  const before = tf.memory().numTensors;
  await assert.rejects(mergeModels([a]), /at least two models/);
  await assert.rejects(mergeModels([a, b]), /must share the input size/);
  await assert.rejects(mergeModels([a, seq]), /Sequential model; only functional models/);
  assert.equal(tf.memory().numTensors, before, 'a refused merge allocates nothing');
  for (const m of [a, b, seq]) m.dispose();
});
