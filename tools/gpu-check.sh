#!/usr/bin/env bash
# One call for a lent GPU machine (device tool): build, run every kernel and parity test on CUDA instead of ILGPU's
# CPU accelerator, then the GPU side-by-side benchmarks, within about 8 minutes. Results land in $OUT (or ./gpu-out).
# Usage (on the GPU machine, from the repository root): tools/gpu-check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-gpu-out}"
mkdir -p "$out"
{
  date -u; git rev-parse HEAD 2>/dev/null || true
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 || echo "nvidia-smi missing"
  lscpu | grep -E 'Model name|^CPU\(s\)' || true
} > "$out/device.txt"
dotnet build RankEngine.sln -c Release --nologo -v q -clp:ErrorsOnly > "$out/build.log" 2>&1 || { echo "build failed"; tail -30 "$out/build.log"; exit 1; }
# Kernel and parity tests on CUDA (the fixtures read RANKENGINE_TEST_ILGPU_DEVICE).
RANKENGINE_TEST_ILGPU_DEVICE=cuda timeout 240 dotnet test tests/RankEngine.Tests -c Release --no-build --nologo \
  --filter "FullyQualifiedName~RankEngine.Tests.Kernels|FullyQualifiedName~TinyBertParity|FullyQualifiedName~TopK|FullyQualifiedName~ShardDeviceSearch" \
  --logger "console;verbosity=normal" > "$out/cuda-tests.log" 2>&1
echo "cuda tests rc=$?"; grep -E "Passed!|Failed!|Total tests" "$out/cuda-tests.log" | tail -3
# GPU benchmarks: scoring + top-k (CUDA next to SIMD and FAISS when present), bounded in time.
timeout 180 dotnet bench/RankEngine.Bench/bin/Release/net10.0/RankEngine.Bench.dll scoring 1000000 3 > "$out/scoring.md" 2> "$out/scoring.err"
echo "scoring bench rc=$?"; tail -20 "$out/scoring.md"
