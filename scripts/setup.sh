#!/usr/bin/env bash
# One-time setup on a fresh machine: Debian's Chromium (for `npm start` and the browser tests), Debian's
# Firefox ESR (for `npm start -- --browser firefox` and the Firefox end-to-end tests) and the npm
# dependencies. Safe to run again. tfjs-node (native training) is optional: see README,
# "Native training"; without it the trainer uses the wasm backend.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
if ! command -v chromium >/dev/null 2>&1 && [ -z "${CHROME_PATH:-}" ]; then missing+=(chromium); fi
if ! command -v firefox-esr >/dev/null 2>&1 && [ -z "${FIREFOX_PATH:-}" ]; then missing+=(firefox-esr); fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian's ${missing[*]} (needed by npm start and the browser/e2e tests)"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Never let a package download its own browser.
export PUPPETEER_SKIP_DOWNLOAD=1
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
# The VS Code host the vscode/ end-to-end tests drive (code-server; outside the clone, reused when present).
# A failure is not fatal: those tests then skip, saying why.
./scripts/install-vscode-host.sh >/dev/null || echo "setup: the VS Code host could not be installed; npm run test:vscode will skip"
echo "setup: done (chromium: ${CHROME_PATH:-$(command -v chromium)}, firefox: ${FIREFOX_PATH:-$(command -v firefox-esr)})"
