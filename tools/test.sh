#!/usr/bin/env bash
# Runs every test. Installs what the tests need first (npm reference packages, dotnet restore).
# Usage: tools/test.sh [extra dotnet test args]
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup-deps.sh
dotnet build RankEngine.sln -c Release --nologo -v q -clp:ErrorsOnly
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
dotnet test tests/RankEngine.Tests/RankEngine.Tests.csproj -c Release --no-build --nologo --logger "console;verbosity=normal" "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" -ne 0 ]; then
  # Repeat the failures last, so a log tail (CI keeps only the end) shows what failed and why.
  echo
  echo "=== failed tests (repeated from above) ==="
  grep -E -A 25 '^\s+Failed [A-Za-z]' "$log" | cut -c1-400 | head -300
fi
exit "$rc"
