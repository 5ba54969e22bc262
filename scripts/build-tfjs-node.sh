#!/usr/bin/env bash
# Makes @tensorflow/tfjs-node 4.22.0 work where its install script cannot download libtensorflow
# (no access to storage.googleapis.com). Instead of the 2.9.1 tarball it uses the C/C++ runtime from
# the tensorflow-cpu wheel on PyPI (which pip can reach), and builds the N-API addon against it:
#
#   1. install the tfjs-node package files without running its install script (no download);
#   2. fetch the wheel into .cache/tfjs-node/ (git-ignored; reused on later runs);
#   3. unpack libtensorflow_cc.so.2 + libtensorflow_framework.so.2 and the C API headers into
#      node_modules/@tensorflow/tfjs-node/deps/{lib,include}, plus the library names binding.gyp
#      links against (libtensorflow.so, ...) and the one install.js checks (libtensorflow.so.2.9.1);
#   4. patch the binding so that ops can take list(string) / list(type) attributes (scripts/tfjs-node-list-attrs.patch:
#      TF's fused convolutions need fused_ops and TArgs; trainer/backends/native/fused-conv.ts uses them, and
#      falls back to the stock layers where the patch is missing), and build the addon from source with
#      node-pre-gyp, using the Node headers under /usr.
#
# Idempotent: a step whose result is already there is skipped, and if the addon already loads (and takes
# list attributes) the script only says so. Pass --force to redo everything. tfjs-node stays an optionalDependency, so a
# plain `npm install` / `npm ci` still succeeds without this (tfjs-node is then simply absent and the
# trainer falls back to wasm); run `npm run setup:tfjs-node` again after such an install.
#
# Overrides (environment): TFJS_NODE_TF_WHEEL=/path/to/tensorflow_cpu-*.whl (skip pip),
# TFJS_NODE_TF_VERSION (default 2.21.0), NODE_HEADERS_DIR (default /usr; must hold include/node/node.h).
set -euo pipefail

TFJS_NODE_VERSION=4.22.0
TF_VERSION="${TFJS_NODE_TF_VERSION:-2.21.0}"
NODE_HEADERS_DIR="${NODE_HEADERS_DIR:-/usr}"
FORCE=0
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-tfjs-node: unknown argument '$arg' (known: --force, --help)" >&2; exit 2 ;;
  esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PKG="$ROOT/node_modules/@tensorflow/tfjs-node"
CACHE="$ROOT/.cache/tfjs-node"
DEPS="$PKG/deps"

say() { echo "[tfjs-node] $*"; }
die() { echo "[tfjs-node] ERROR: $*" >&2; exit 1; }

# Loads the addon in a child process: exit 0 and prints the TF version if tfjs-node works.
addon_works() {
  (cd "$ROOT" && node -e "
    const tf = require('@tensorflow/tfjs-node');
    console.log('tfjs-node ' + tf.version['tfjs-node'] + ' on TensorFlow ' + (tf.backend().binding?.TF_Version ?? '?') + ', backend \\'' + tf.getBackend() + '\\'');
  " 2>/dev/null)
}

# Exit 0 if the built addon passes list(string) / list(type) attributes (the patch of step 4): runs a 1x1 _FusedConv2D.
addon_takes_list_attrs() {
  (cd "$ROOT" && node -e "
    const tf = require('@tensorflow/tfjs-node');
    const b = tf.backend(), B = b.binding, t = tf.ones([1, 1, 1, 1]);
    b.executeSingleOutput('_FusedConv2D', [
      { name: 'T', type: B.TF_ATTR_TYPE, value: B.TF_FLOAT }, { name: 'TArgs', type: B.TF_ATTR_TYPE, value: [B.TF_FLOAT] },
      { name: 'num_args', type: B.TF_ATTR_INT, value: 1 }, { name: 'strides', type: B.TF_ATTR_INT, value: [1, 1, 1, 1] },
      { name: 'padding', type: B.TF_ATTR_STRING, value: 'SAME' }, { name: 'fused_ops', type: B.TF_ATTR_STRING, value: ['BiasAdd'] },
    ], [t, t, tf.ones([1])]);
  " >/dev/null 2>&1)
}

cd "$ROOT"
[[ "$(uname -s)" == Linux && "$(uname -m)" == x86_64 ]] || die "only Linux x86_64 is supported by this recipe (got $(uname -s) $(uname -m))."
for tool in node npm python3 make g++; do
  command -v "$tool" >/dev/null || die "'$tool' is needed but not on PATH."
done
[[ -f "$NODE_HEADERS_DIR/include/node/node_api.h" ]] \
  || die "Node headers not found under $NODE_HEADERS_DIR/include/node (set NODE_HEADERS_DIR to a dir with include/node/node_api.h)."

if [[ $FORCE == 0 && -d "$PKG" ]] && out="$(addon_works)"; then
  if addon_takes_list_attrs; then
    say "already working: $out"
    exit 0
  fi
  say "the addon loads but lacks the list-attribute patch: rebuilding it"
fi

# 1. Package files, without the install script (which would try to download libtensorflow).
installed_version="$(node -p "require('./node_modules/@tensorflow/tfjs-node/package.json').version" 2>/dev/null || true)"
if [[ "$installed_version" != "$TFJS_NODE_VERSION" ]]; then
  say "installing @tensorflow/tfjs-node@$TFJS_NODE_VERSION package files (--no-save --ignore-scripts)"
  npm install --no-save --ignore-scripts --no-audit --no-fund "@tensorflow/tfjs-node@$TFJS_NODE_VERSION"
  [[ -f "$PKG/binding.gyp" ]] || die "npm did not install $PKG."
else
  say "package files present: @tensorflow/tfjs-node@$installed_version"
fi

# 2. The wheel with TensorFlow's shared libraries and C API headers.
mkdir -p "$CACHE"
WHEEL="${TFJS_NODE_TF_WHEEL:-}"
if [[ -z "$WHEEL" ]]; then
  WHEEL="$(ls -1 "$CACHE"/tensorflow_cpu-"$TF_VERSION"-*.whl 2>/dev/null | head -n1 || true)"
fi
if [[ -z "$WHEEL" ]]; then
  say "downloading tensorflow-cpu==$TF_VERSION wheel with pip into .cache/tfjs-node/ (about 270 MB)"
  python3 -m pip download --no-deps --only-binary=:all: --dest "$CACHE" "tensorflow-cpu==$TF_VERSION" \
    || die "pip could not download tensorflow-cpu==$TF_VERSION. Download the wheel yourself and set TFJS_NODE_TF_WHEEL=/path/to/it."
  WHEEL="$(ls -1 "$CACHE"/tensorflow_cpu-"$TF_VERSION"-*.whl | head -n1)"
else
  say "using wheel $WHEEL"
fi
[[ -f "$WHEEL" ]] || die "wheel not found: $WHEEL"

# 3. Unpack into deps/. A stamp records which wheel is unpacked, so a rerun skips the 850 MB copy.
STAMP="$DEPS/.from-wheel"
if [[ $FORCE == 1 || ! -f "$STAMP" || "$(cat "$STAMP")" != "$(basename "$WHEEL")" ]]; then
  say "unpacking libtensorflow_cc / libtensorflow_framework and C API headers into deps/"
  rm -rf "$DEPS"
  mkdir -p "$DEPS/lib" "$DEPS/include"
  python3 - "$WHEEL" "$DEPS" <<'PY'
import sys, zipfile, os, shutil
wheel, deps = sys.argv[1], sys.argv[2]
libs = {'tensorflow/libtensorflow_cc.so.2', 'tensorflow/libtensorflow_framework.so.2'}
# The addon includes only the C and eager C APIs; these prefixes cover everything they include.
header_prefixes = ('tensorflow/include/tensorflow/c/', 'tensorflow/include/tensorflow/core/platform/',
                   'tensorflow/include/tsl/', 'tensorflow/include/xla/tsl/')
with zipfile.ZipFile(wheel) as z:
    names = set(z.namelist())
    missing = libs - names
    if missing:
        sys.exit(f'wheel lacks {sorted(missing)}: is this a tensorflow(-cpu) >= 2.x Linux wheel?')
    for name in sorted(names):
        if name in libs:
            dest = os.path.join(deps, 'lib', os.path.basename(name))
        elif name.startswith(header_prefixes) and name.endswith('.h'):
            dest = os.path.join(deps, 'include', name[len('tensorflow/include/'):])
        else:
            continue
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with z.open(name) as src, open(dest, 'wb') as out:
            shutil.copyfileobj(src, out, 1 << 20)
PY
  (
    cd "$DEPS/lib"
    # binding.gyp links -ltensorflow -ltensorflow_framework; the runtime resolves the SONAMEs
    # (libtensorflow_cc.so.2, libtensorflow_framework.so.2) through the addon's rpath to this dir.
    ln -sf libtensorflow_cc.so.2 libtensorflow.so
    ln -sf libtensorflow_framework.so.2 libtensorflow_framework.so
    # install.js and deps-constants.js look for the 2.9.1 names on Linux.
    ln -sf libtensorflow_cc.so.2 libtensorflow.so.2.9.1
    ln -sf libtensorflow_framework.so.2 libtensorflow_framework.so.2.9.1
  )
  basename "$WHEEL" > "$STAMP"
else
  say "deps/ already unpacked from $(cat "$STAMP")"
fi

# 4. Patch the binding (list attributes), then build the addon (lib/napi-v*/tfjs_binding.node) against those libraries.
PATCH="$ROOT/scripts/tfjs-node-list-attrs.patch"
if grep -q 'DermLens patch' "$PKG/binding/tfjs_backend.cc"; then
  say "binding already patched for list attributes"
elif patch -d "$PKG" -p1 --forward --silent < "$PATCH"; then
  say "patched the binding for list(string) / list(type) attributes"
else
  say "WARNING: $PATCH did not apply; building the stock binding (the fused-convolution fast path stays off)"
fi
say "building the N-API addon from source (a minute or two)"
PRE_GYP="$(node -p "require.resolve('@mapbox/node-pre-gyp/bin/node-pre-gyp', {paths: ['$PKG']})" 2>/dev/null)" \
  || die "@mapbox/node-pre-gyp (a dependency of tfjs-node) is not installed."
(
  cd "$PKG"
  rm -rf build
  npm_config_nodedir="$NODE_HEADERS_DIR" node "$PRE_GYP" install --build-from-source
) || die "the addon build failed (see the compiler output above)."

out="$(addon_works)" || {
  (cd "$ROOT" && node -e "require('@tensorflow/tfjs-node')") || true
  die "the addon was built but does not load (error above)."
}
say "done: $out"
