#!/usr/bin/env bash
# Long version of the disk-bound test: records EVENTS (default 1,000,000) feedback events over a fixed set of users
# and items through the embedded engine with production store defaults, printing the data directory's size (the
# disk curve) every 5%. Figures go to bench/HISTORY.md with the CPU model (lscpu).
# Usage: tools/event-flood.sh [events=1000000] [users=50] [items=20] [threads=8]
set -euo pipefail
cd "$(dirname "$0")/.."
lscpu | grep -m1 'Model name' || true
dotnet run -c Release --project bench/RankEngine.Bench -- event-flood "${1:-1000000}" "${2:-50}" "${3:-20}" "${4:-8}"
