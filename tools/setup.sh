#!/usr/bin/env bash
# One-time setup on a fresh Debian machine: reference packages (npm), .NET restore and Release build,
# and the default model converted once into models/ (cached; nothing is downloaded at run time).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup-deps.sh
echo "building (Release)…" >&2
dotnet build RankEngine.sln -c Release --nologo -v q -clp:ErrorsOnly
mkdir -p models
if [ ! -f models/default.rem ]; then
  echo "converting the default model…" >&2
  ./rankengine convert --from safetensors tests/RankEngine.Tests/Fixtures/TinyBert --out models/default.rem
fi
echo "setup done: ./rankengine --help" >&2
