import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCsv } from '../../trainer/data/csv.ts';

const fields = (text: string) => parseCsv(text, 'x.csv').map((r) => r.fields);
const lines = (text: string) => parseCsv(text, 'x.csv').map((r) => r.line);

test('plain rows with LF, CRLF and lone CR line ends give the same fields', () => {
  const expected = [
    ['a', 'b'],
    ['1', '2'],
    ['3', ''],
  ];
  assert.deepEqual(fields('a,b\n1,2\n3,\n'), expected);
  assert.deepEqual(fields('a,b\r\n1,2\r\n3,\r\n'), expected);
  assert.deepEqual(fields('a,b\r1,2\r3,'), expected);
});

test('a UTF-8 BOM is dropped and blank lines are skipped but still counted', () => {
  const text = '\uFEFFa,b\n\n1,2\n   \n3,4\n\n';
  assert.deepEqual(fields(text), [
    ['a', 'b'],
    ['1', '2'],
    ['3', '4'],
  ]);
  assert.deepEqual(lines(text), [1, 3, 5]);
});

test('quoted fields keep commas, doubled quotes and line breaks, and later line numbers stay right', () => {
  const text = 'id,note\n"x,1","say ""hi"""\n"y","two\r\nlines"\nz,end\n';
  assert.deepEqual(fields(text), [
    ['id', 'note'],
    ['x,1', 'say "hi"'],
    ['y', 'two\r\nlines'],
    ['z', 'end'],
  ]);
  assert.deepEqual(lines(text), [1, 2, 3, 5]);
});

test('an empty quoted field and a trailing empty field are kept', () => {
  assert.deepEqual(fields('"",a,\n'), [['', 'a', '']]);
});

test('malformed quoting is reported with file and line', () => {
  assert.throws(() => parseCsv('a,b\n1,"open\n2,3\n', 'bad.csv'), /^CsvSyntaxError: bad\.csv:2: unterminated quoted field/);
  assert.throws(() => parseCsv('a,b\n1,2\n3,"x"y\n', 'bad.csv'), /bad\.csv:3: unexpected character "y" after a closing quote/);
  assert.throws(() => parseCsv('a,b\nab"c,2\n', 'bad.csv'), /bad\.csv:2: a " inside an unquoted field/);
});
