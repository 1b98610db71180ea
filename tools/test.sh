#!/usr/bin/env bash
# Runs every test. Installs what the tests need first (npm reference packages, dotnet restore).
# Usage: tools/test.sh [extra dotnet test args]
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup-deps.sh
dotnet build RankEngine.sln -c Release --nologo -v q -clp:ErrorsOnly
dotnet test tests/RankEngine.Tests/RankEngine.Tests.csproj -c Release --no-build --nologo --logger "console;verbosity=normal" "$@"
