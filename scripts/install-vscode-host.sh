#!/usr/bin/env bash
# Installs the VS Code host the vscode/ end-to-end tests drive: code-server (real VS Code with a Node
# extension host; desktop VS Code cannot be had offline, @vscode/test-electron downloads it) from npm,
# into a folder OUTSIDE the clone so a reused machine skips the ~2-minute install.
# Recipe and pitfalls: ../shared/notes/vscode-host.md. Safe to run again: exits at once when present.
#   DERMLENS_VSCODE_HOST  where to install (default ~/.cache/dermlens-vscode-host)
# Prints the path of the code-server binary on its last line.
set -euo pipefail

# 4.100.3 (VS Code 1.100.3) is the newest code-server that runs on Node 20; later ones need Node 24.
VERSION=4.100.3
HOST_DIR="${DERMLENS_VSCODE_HOST:-$HOME/.cache/dermlens-vscode-host}"
BIN="$HOST_DIR/node_modules/.bin/code-server"

if [ -x "$BIN" ] && [ -f "$HOST_DIR/.installed-$VERSION" ]; then
  echo "$BIN"
  exit 0
fi

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
missing=()
# kerberos (a code-server dependency) compiles against gssapi; ripgrep replaces @vscode/ripgrep's download.
dpkg -s libkrb5-dev >/dev/null 2>&1 || missing+=(libkrb5-dev)
dpkg -s pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
command -v rg >/dev/null 2>&1 || missing+=(ripgrep)
command -v make >/dev/null 2>&1 && command -v g++ >/dev/null 2>&1 || missing+=(build-essential)
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-vscode-host: apt-get install ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get -o DPkg::Lock::Timeout=900 update -qq >&2
  $sudo apt-get -o DPkg::Lock::Timeout=900 install -y -qq "${missing[@]}" >/dev/null
fi

mkdir -p "$HOST_DIR"
# Its own package.json, or npm climbs to the project's and installs there.
echo '{"private":true}' >"$HOST_DIR/package.json"

# @vscode/ripgrep's postinstall downloads a release tarball unless it finds it in its cache: give it
# Debian's rg under the name it looks for.
export TMPDIR="${TMPDIR:-/tmp}"
rg_cache="$TMPDIR/vscode-ripgrep-cache-1.15.11"
mkdir -p "$rg_cache"
rg_tar="$rg_cache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz"
if [ ! -f "$rg_tar" ]; then
  tmp="$(mktemp -d)"
  cp "$(command -v rg)" "$tmp/rg"
  tar -czf "$rg_tar" -C "$tmp" rg
  rm -rf "$tmp"
fi

echo "install-vscode-host: installing code-server@$VERSION into $HOST_DIR (about 2 minutes)" >&2
(
  cd "$HOST_DIR"
  # unsafe_perm: its postinstall refuses to run as root otherwise; yes: node-pty's npx of node-gyp.
  npm_config_unsafe_perm=true npm_config_yes=true PUPPETEER_SKIP_DOWNLOAD=1 \
    npm install --no-audit --no-fund --no-save "code-server@$VERSION" >&2
)
"$BIN" --version >&2
touch "$HOST_DIR/.installed-$VERSION"
echo "$BIN"
