#!/usr/bin/env bash
# The main job: set up, then encode a few sentences with the default model.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
./rankengine model-info models/default.rem | head -1
./rankengine encode "Toy Story (1995)" "A space adventure with a dark king" "the great war movie" | cut -c1-160
