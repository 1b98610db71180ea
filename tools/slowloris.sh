#!/usr/bin/env bash
# Long version of the stalled-connection tests: starts `rankengine serve` (token set) as a child process, opens
# CONNECTIONS (default 1,000) connections that each stall 10 bytes short of a 2 MB frame (authenticated, then not),
# and prints the server's RSS before, during and 30 s after, and whether /healthz still answers.
# Usage: tools/slowloris.sh [connections=1000] [seconds=10]
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -n 8192 2>/dev/null || true
lscpu | grep -m1 'Model name' || true
dotnet build src/RankEngine.Cli -c Release --nologo -v q -clp:ErrorsOnly
cli="$PWD/src/RankEngine.Cli/bin/Release/net10.0/RankEngine.Cli.dll"
dotnet run -c Release --project bench/RankEngine.Bench -- slowloris "$cli" "${1:-1000}" auth "${2:-10}"
dotnet run -c Release --project bench/RankEngine.Bench -- slowloris "$cli" "${1:-500}" noauth "${2:-10}"
