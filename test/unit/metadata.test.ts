import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLASS_CODES } from '../../core/labels.ts';
import { parseHamMetadata, parseLabelsCsv } from '../../trainer/data/metadata.ts';

const HAM_HEADER = 'lesion_id,image_id,dx,dx_type,age,sex,localization';
const label = (code: string) => CLASS_CODES.indexOf(code as (typeof CLASS_CODES)[number]);

test('HAM10000 metadata: rows become image/lesion/label, columns found by name', () => {
  const text = `${HAM_HEADER}\nHAM_0000118,ISIC_0027419,bkl,histo,80.0,male,scalp\r\nHAM_0000118,ISIC_0025030,bkl,histo,80.0,male,scalp\r\nHAM_0002730,ISIC_0026769,MEL,histo,,female,"back, upper"\n`;
  assert.deepEqual(parseHamMetadata(text, 'meta.csv'), [
    { imageId: 'ISIC_0027419', lesionId: 'HAM_0000118', label: label('bkl') },
    { imageId: 'ISIC_0025030', lesionId: 'HAM_0000118', label: label('bkl') },
    { imageId: 'ISIC_0026769', lesionId: 'HAM_0002730', label: label('mel') },
  ]);
  // Reordered columns, BOM, extra column.
  const shuffled = '\uFEFFdx,extra,image_id,lesion_id\nnv,?,ISIC_1,HAM_1\nvasc,?,ISIC_2,HAM_2\n';
  assert.deepEqual(parseHamMetadata(shuffled, 'm.csv'), [
    { imageId: 'ISIC_1', lesionId: 'HAM_1', label: label('nv') },
    { imageId: 'ISIC_2', lesionId: 'HAM_2', label: label('vasc') },
  ]);
});

test('HAM10000 metadata: every problem names the file and line', () => {
  assert.throws(() => parseHamMetadata('', 'm.csv'), /^Error: m\.csv:1: the file is empty/);
  assert.throws(() => parseHamMetadata('\uFEFF\r\n  \n', 'm.csv'), /m\.csv:1: the file is empty/);
  assert.throws(() => parseHamMetadata(`${HAM_HEADER}\n`, 'm.csv'), /m\.csv:1: the file has a header but no data rows/);
  assert.throws(
    () => parseHamMetadata('lesion_id,image_id,dx_type\nH,I,histo\n', 'm.csv'),
    /m\.csv:1: missing required column dx \(header has: lesion_id, image_id, dx_type\)/,
  );
  assert.throws(() => parseHamMetadata('image_id,foo\nI,x\n', 'm.csv'), /m\.csv:1: missing required columns lesion_id, dx/);
  assert.throws(
    () => parseHamMetadata(`${HAM_HEADER}\nH1,I1,nv,histo,5,male,back\nH2,I2,xyz,histo,5,male,back\n`, 'm.csv'),
    /m\.csv:3: unknown dx code "xyz" \(expected one of akiec, bcc, bkl, df, mel, nv, vasc\)/,
  );
  assert.throws(
    () => parseHamMetadata(`${HAM_HEADER}\nH1,I1,nv,histo,5,male,back\nH2,I1,nv,histo,5,male,back\n`, 'm.csv'),
    /m\.csv:3: duplicate image_id I1 \(first listed on line 2\)/,
  );
  assert.throws(
    () => parseHamMetadata(`${HAM_HEADER}\nH1,I1,nv,histo\n`, 'm.csv'),
    /m\.csv:2: malformed row: expected 7 fields like the header, found 4/,
  );
  assert.throws(() => parseHamMetadata(`${HAM_HEADER}\nH1,,nv,histo,5,male,back\n`, 'm.csv'), /m\.csv:2: empty image_id/);
  assert.throws(() => parseHamMetadata(`${HAM_HEADER}\nH1,"I1,nv,histo,5,male,back\n`, 'm.csv'), /m\.csv:2: unterminated quoted field/);
});

const ISIC_HEADER = 'image,MEL,NV,BCC,AKIEC,BKL,DF,VASC';

test('parseLabelsCsv reads ISIC 2018 Task 3 one-hot ground truth (lesionId = imageId)', () => {
  const text = `${ISIC_HEADER}\nISIC_0024306,0.0,1.0,0.0,0.0,0.0,0.0,0.0\nISIC_0024307,1.0,0.0,0.0,0.0,0.0,0.0,0.0\nISIC_0024308,0,0,0,0,0,0,1\n`;
  assert.deepEqual(parseLabelsCsv(text, 'gt.csv'), [
    { imageId: 'ISIC_0024306', lesionId: 'ISIC_0024306', label: label('nv') },
    { imageId: 'ISIC_0024307', lesionId: 'ISIC_0024307', label: label('mel') },
    { imageId: 'ISIC_0024308', lesionId: 'ISIC_0024308', label: label('vasc') },
  ]);
});

test('parseLabelsCsv reads HAM metadata too', () => {
  const items = parseLabelsCsv(`${HAM_HEADER}\nH1,I1,df,histo,5,male,back\n`, 'm.csv');
  assert.deepEqual(items, [{ imageId: 'I1', lesionId: 'H1', label: label('df') }]);
});

test('parseLabelsCsv: bad one-hot rows and unknown formats are explained', () => {
  assert.throws(
    () => parseLabelsCsv(`${ISIC_HEADER}\nA,1,1,0,0,0,0,0\n`, 'gt.csv'),
    /gt\.csv:2: expected exactly one class column set to 1 for A, found MEL and NV/,
  );
  assert.throws(
    () => parseLabelsCsv(`${ISIC_HEADER}\nA,0,0,0,0,0,0,0\n`, 'gt.csv'),
    /gt\.csv:2: expected exactly one class column set to 1 for A, found none/,
  );
  assert.throws(
    () => parseLabelsCsv(`${ISIC_HEADER}\nA,0.5,0.5,0,0,0,0,0\n`, 'gt.csv'),
    /gt\.csv:2: column MEL must be 0 or 1 \(one-hot ground truth\), found "0\.5"/,
  );
  assert.throws(() => parseLabelsCsv(`${ISIC_HEADER}\nA,,1,0,0,0,0,0\n`, 'gt.csv'), /column MEL must be 0 or 1/);
  assert.throws(
    () => parseLabelsCsv(`${ISIC_HEADER}\nA,0,1,0,0,0,0,0\nA,0,1,0,0,0,0,0\n`, 'gt.csv'),
    /gt\.csv:3: duplicate image A \(first listed on line 2\)/,
  );
  assert.throws(() => parseLabelsCsv('image,MEL,NV\nA,0,1\n', 'gt.csv'), /gt\.csv:1: missing required columns BCC, AKIEC, BKL, DF, VASC/);
  assert.throws(
    () => parseLabelsCsv(`${ISIC_HEADER},UNK\nA,0,0,0,0,0,0,0,1\n`, 'gt.csv'),
    /gt\.csv:2: image A is labelled UNK, which is not one of the seven classes/,
  );
  assert.throws(() => parseLabelsCsv('name,class\nA,nv\n', 'x.csv'), /x\.csv:1: unrecognised label file: .*header has: name, class/);
});
