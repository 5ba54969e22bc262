// libjpeg-turbo compiled to WebAssembly (the .wasm of @cwasm/jpeg-turbo), driven here instead of through
// that package's decode(), which throws on libjpeg *warnings* too ("Corrupt JPEG data: ..."): sharp,
// which the CLI decodes with, keeps the pixels of a JPEG that only warns (failOn: 'error'), and so must
// this. In that build a fatal error longjmp()s, which throws a JS exception; a warning only makes
// tjDecompress2 return -1 after writing every pixel.
import { readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const WASM_NAME = 'jpeg-turbo.wasm';
const TJPF_RGBA = 7;

interface Exports {
  memory: WebAssembly.Memory;
  malloc(size: number): number;
  free(pointer: number): void;
  tjInitDecompress(): number;
  tjDestroy(handle: number): number;
  tjDecompressHeader3(
    handle: number,
    src: number,
    size: number,
    width: number,
    height: number,
    subsamp: number,
    colorspace: number,
  ): number;
  tjDecompress2(
    handle: number,
    src: number,
    size: number,
    dst: number,
    width: number,
    pitch: number,
    height: number,
    format: number,
    flags: number,
  ): number;
}

/** Beside the bundle in the .vsix (the build copies it there); from the package when run from the sources. */
function wasmPath(): string {
  const bundled = join(dirname(fileURLToPath(import.meta.url)), WASM_NAME);
  return existsSync(bundled) ? bundled : createRequire(import.meta.url).resolve(`@cwasm/jpeg-turbo/${WASM_NAME}`);
}

let instance: Exports | null = null;

function jpegTurbo(): Exports {
  if (!instance) {
    const module = new WebAssembly.Module(readFileSync(wasmPath()));
    const unavailable = (name: string) => () => {
      throw new Error(`libjpeg-turbo called ${name}, which this build does not provide`);
    };
    const imports = {
      env: {
        setjmp: () => 0,
        longjmp: () => {
          throw new Error('libjpeg-turbo: fatal decoding error');
        },
      },
      wasi_snapshot_preview1: {
        environ_sizes_get: () => 0,
        environ_get: unavailable('environ_get'),
        proc_exit: unavailable('proc_exit'),
        fd_close: unavailable('fd_close'),
        fd_seek: unavailable('fd_seek'),
        fd_write: unavailable('fd_write'),
      },
    };
    instance = new WebAssembly.Instance(module, imports).exports as unknown as Exports;
  }
  return instance;
}

/** JPEG bytes -> RGBA pixels; throws on a fatal error, keeps the pixels of a file that only warns. */
export function decodeJpeg(bytes: Uint8Array): { data: Uint8Array; width: number; height: number } {
  const tj = jpegTurbo();
  const input = tj.malloc(bytes.byteLength);
  const meta = tj.malloc(16);
  const handle = tj.tjInitDecompress();
  let output = 0;
  try {
    new Uint8Array(tj.memory.buffer, input, bytes.byteLength).set(bytes);
    if (tj.tjDecompressHeader3(handle, input, bytes.byteLength, meta, meta + 4, meta + 8, meta + 12) !== 0)
      throw new Error('bad JPEG header');
    const [width, height] = new Uint32Array(tj.memory.buffer, meta, 2);
    output = tj.malloc(width * height * 4);
    tj.tjDecompress2(handle, input, bytes.byteLength, output, width, width * 4, height, TJPF_RGBA, 0); // -1: warnings only
    return { data: new Uint8Array(tj.memory.buffer, output, width * height * 4).slice(), width, height };
  } finally {
    tj.tjDestroy(handle);
    tj.free(input);
    tj.free(meta);
    if (output) tj.free(output);
  }
}
