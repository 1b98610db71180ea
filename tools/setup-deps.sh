#!/usr/bin/env bash
# Installs the tools the tests and the demo need on a clean Debian machine: npm reference packages and dotnet packages.
# Idempotent: re-running it only checks.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f tools/package.json ]; then
  (cd tools && npm install --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
fi
dotnet restore RankEngine.sln --nologo -v q
