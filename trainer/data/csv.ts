// A small RFC 4180 CSV reader. Hand-written instead of pulling in csv-parse because the label files
// are tiny and simple, and what we need most is the 1-based source line of every record for error
// messages (a quoted field may span lines, so "record index + 2" would lie).

export interface CsvRecord {
  /** 1-based line in the file where this record starts. */
  line: number;
  fields: string[];
}

/** Thrown for text that is not valid CSV; the message names the file and line. */
export class CsvSyntaxError extends Error {
  constructor(
    readonly fileName: string,
    readonly line: number,
    problem: string,
  ) {
    super(`${fileName}:${line}: ${problem}`);
    this.name = 'CsvSyntaxError';
  }
}

/**
 * Splits CSV text into records. Accepts a UTF-8 BOM, LF, CRLF or lone CR line ends, quoted fields
 * with "" escapes and embedded commas/newlines. Blank lines are skipped (files often end with one).
 * A quote inside an unquoted field, text after a closing quote, or an unterminated quote is an error.
 */
export function parseCsv(text: string, fileName: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  const n = text.length;

  while (i < n) {
    const recordLine = line;
    const fields: string[] = [];
    // Parse one record: fields until an unquoted line end or the end of the text.
    for (;;) {
      let value = '';
      if (text[i] === '"') {
        const quoteLine = line;
        i++;
        for (;;) {
          if (i >= n) throw new CsvSyntaxError(fileName, quoteLine, 'unterminated quoted field (a " opened here is never closed)');
          const ch = text[i];
          if (ch === '"') {
            if (text[i + 1] === '"') {
              value += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (ch === '\r' && text[i + 1] === '\n') {
            value += '\r\n';
            i += 2;
            line++;
            continue;
          }
          if (ch === '\r' || ch === '\n') line++;
          value += ch;
          i++;
        }
        if (i < n && text[i] !== ',' && text[i] !== '\r' && text[i] !== '\n') {
          throw new CsvSyntaxError(fileName, line, `unexpected character ${JSON.stringify(text[i])} after a closing quote`);
        }
      } else {
        const start = i;
        while (i < n && text[i] !== ',' && text[i] !== '\r' && text[i] !== '\n') {
          if (text[i] === '"')
            throw new CsvSyntaxError(fileName, line, 'a " inside an unquoted field (quote the whole field and double the quote)');
          i++;
        }
        value = text.slice(start, i);
      }
      fields.push(value);
      if (i < n && text[i] === ',') {
        i++;
        continue;
      }
      break;
    }
    // Consume the line end.
    if (text[i] === '\r') {
      i++;
      if (text[i] === '\n') i++;
      line++;
    } else if (text[i] === '\n') {
      i++;
      line++;
    }
    const blank = fields.length === 1 && fields[0].trim() === '';
    if (!blank) records.push({ line: recordLine, fields });
  }
  return records;
}
