import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLASSES, CLASS_CODES, NUM_CLASSES, classIndex, classByCode, isClassCode, isConcerning } from '../../core/labels.ts';

test('seven HAM10000 classes in model output order', () => {
  assert.deepEqual(CLASS_CODES, ['akiec', 'bcc', 'bkl', 'df', 'mel', 'nv', 'vasc']);
  assert.equal(NUM_CLASSES, 7);
});

test('every class has a name, a plain name, a description and a group; akiec is pre-cancerous, not a cancer', () => {
  for (const c of CLASSES) {
    assert.ok(c.name.length > 5 && c.description.length > 20 && c.plainName.length > 5, c.code);
  }
  const malignant = CLASSES.filter((c) => c.group === 'malignant').map((c) => c.code);
  assert.deepEqual(malignant, ['bcc', 'mel']);
  assert.equal(classByCode('akiec').group, 'precancerous');
  assert.deepEqual(
    CLASSES.filter((c) => isConcerning(c.group)).map((c) => c.code),
    ['akiec', 'bcc', 'mel'],
  );
});

test('classIndex tolerates case and whitespace, rejects unknown codes', () => {
  assert.equal(classIndex('mel'), 4);
  assert.equal(classIndex(' NV '), 5);
  assert.equal(classIndex('melanoma'), -1);
  assert.equal(isClassCode('vasc'), true);
  assert.equal(isClassCode('VASC'), false);
  assert.equal(classByCode('df').name, 'Dermatofibroma');
});

test('labels are frozen', () => {
  assert.throws(() => (CLASSES as unknown as unknown[]).push({}));
});
