import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { cardInputLabel, modelVersionLabel, parseModelCard } from '../../core/model-card.ts';
import { CLASS_CODES } from '../../core/labels.ts';

const base = { name: 'm', version: 'v1', created: '2026-11-26', arch: 'compact', inputSize: 96 };

test('the shipped model card parses and agrees with the shipped model.json', () => {
  const card = parseModelCard(JSON.parse(readFileSync('extension/model/model-card.json', 'utf8')));
  const model = JSON.parse(readFileSync('extension/model/model.json', 'utf8'));
  const meta = model.userDefinedMetadata.dermlens;
  assert.equal(card.inputSize, meta.inputSize);
  assert.equal(card.arch, meta.arch);
  assert.deepEqual(meta.classes, [...CLASS_CODES]);
  if (card.untrained) assert.equal(card.evaluation, null, 'an untrained model has no measurements');
  else assert.ok(card.evaluation, 'a trained model card must carry its measured per-class recall');
});

test('per-class recall is required for every class when an evaluation is given', () => {
  const perClass = Object.fromEntries(CLASS_CODES.map((c, i) => [c, { recall: i / 10, support: 10 + i }]));
  const card = parseModelCard({ ...base, evaluation: { split: 'test', n: 100, accuracy: 0.8, balancedAccuracy: 0.6, perClass } });
  assert.equal(card.evaluation!.perClass.mel.recall, 0.4);
  assert.equal(card.evaluation!.perClass.vasc.support, 16);
  const { vasc: _, ...missing } = perClass;
  assert.throws(
    () => parseModelCard({ ...base, evaluation: { split: 'test', n: 1, accuracy: 1, balancedAccuracy: 1, perClass: missing } }),
    { message: 'model-card.json: "evaluation.perClass.vasc.recall" must be a number.' },
  );
});

test('a non-square model states inputWidth and inputHeight instead of inputSize', () => {
  const { inputSize: _, ...noSize } = base;
  const card = parseModelCard({ ...noSize, inputWidth: 160, inputHeight: 120 });
  assert.deepEqual([card.inputSize, card.inputWidth, card.inputHeight], [undefined, 160, 120]);
  assert.equal(cardInputLabel(card), '160x120');
  assert.equal(cardInputLabel(parseModelCard(base)), '96x96');
  assert.throws(() => parseModelCard({ ...noSize, inputWidth: 160 }), { message: 'model-card.json: "inputHeight" must be a number.' });
  assert.throws(
    () => parseModelCard({ ...base, inputWidth: 160, inputHeight: 120 }),
    /states both "inputSize" \(a square model\) and "inputWidth"\/"inputHeight"/,
  );
});

test('names the first bad field, and labels untrained models', () => {
  assert.throws(() => parseModelCard({ ...base, inputSize: '96' }), { message: 'model-card.json: "inputSize" must be a number.' });
  assert.throws(() => parseModelCard(null), { message: 'model-card.json is not a JSON object.' });
  assert.equal(modelVersionLabel(parseModelCard(base)), 'v1');
  assert.equal(modelVersionLabel(parseModelCard({ ...base, untrained: true })), 'v1 (untrained dev model)');
});

test("clinicalPhotos (the three-way gate's figures for ordinary photos of skin) parse when present, and a bad one is named", () => {
  assert.equal(parseModelCard(base).clinicalPhotos, null, 'older cards have none');
  const figures = {
    photos: '98 phone photos',
    n: 98,
    notDermoscopicRate: 0.93,
    namedClinicalRate: 0.87,
    lesionBalancedAccuracy: 0.36,
    lesionChance: 0.2,
  };
  assert.deepEqual(parseModelCard({ ...base, clinicalPhotos: figures }).clinicalPhotos, figures);
  assert.deepEqual(parseModelCard({ ...base, clinicalPhotos: { ...figures, lesionBalancedAccuracy: undefined } }).clinicalPhotos, {
    ...figures,
    lesionBalancedAccuracy: null,
  });
  assert.throws(() => parseModelCard({ ...base, clinicalPhotos: { ...figures, namedClinicalRate: 87 } }), /"clinicalPhotos" needs/);
});
