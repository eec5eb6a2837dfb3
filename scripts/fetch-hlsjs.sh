#!/usr/bin/env bash
# Vendor hls.js (npm) for the browser test tests/browser/test_hls_playback.py.
#
#   scripts/fetch-hlsjs.sh            installs hls.js into .localize/hlsjs (gitignored)
#
# Idempotent: does nothing when the pinned version is already there. The test reads
# .localize/hlsjs/node_modules/hls.js/dist/hls.min.js (override with LOCALIZE_HLSJS).
set -euo pipefail

version="${HLSJS_VERSION:-1.5.20}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$here/.localize/hlsjs"
pkg="$dest/node_modules/hls.js/package.json"

if [ -f "$pkg" ] && grep -q "\"version\": \"$version\"" "$pkg"; then
  exit 0
fi
command -v npm >/dev/null || { echo "fetch-hlsjs.sh: npm is required (install nodejs + npm)" >&2; exit 1; }
mkdir -p "$dest"
[ -f "$dest/package.json" ] || printf '{"name": "localize-hlsjs", "private": true}\n' > "$dest/package.json"
npm install --prefix "$dest" --no-audit --no-fund --ignore-scripts --save-exact --silent "hls.js@$version"
test -f "$dest/node_modules/hls.js/dist/hls.min.js"
echo "hls.js $version -> $dest/node_modules/hls.js/dist/hls.min.js"
