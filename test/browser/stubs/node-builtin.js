// What tfjs-backend-wasm's fesm bundle imports from Node's fs/path/perf_hooks/os: only reached on its
// Node code path, never in the browser. The wtr config maps those imports here.
export default {};
