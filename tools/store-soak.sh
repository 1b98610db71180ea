#!/usr/bin/env bash
# Store crash soak: runs the SIGKILL crash test with many trials (each trial: a child process writes continuously,
# is killed at a random moment, and every acknowledged write is checked after reopening).
# Usage: tools/store-soak.sh [trials=200] [seed]
set -euo pipefail
cd "$(dirname "$0")/.."
trials="${1:-200}"
export RANKSTORE_CRASH_TRIALS="$trials"
if [ -n "${2:-}" ]; then export RANKSTORE_CRASH_SEED="$2"; fi
dotnet build tests/RankEngine.Tests -c Release --nologo -v q
dotnet test tests/RankEngine.Tests -c Release --no-build --nologo \
  --filter "FullyQualifiedName~StoreCrashTests.Every_acknowledged_write_survives_SIGKILL" \
  --logger "console;verbosity=detailed"
