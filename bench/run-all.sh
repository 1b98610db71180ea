#!/usr/bin/env bash
# Reruns every side-by-side benchmark suite and rewrites bench/RESULTS.md from their outputs: a header with the date,
# commit, CPU model and flags, core count, memory and .NET version, then one section per suite (the command, then its
# output as printed). Builds Release first and makes the benchmark models if any is missing (tools/bench-models.sh).
#
# Usage: bench/run-all.sh [--quick] [--only SUITE[,SUITE...]] [--skip-build] [--out FILE] [-- EXTRA BENCH ARGS]
#   --quick       small sizes and one round per suite: a smoke run that proves every suite runs end to end, in
#                 minutes; its figures mean nothing, so it writes bench/RESULTS.quick.md unless --out says otherwise
#   --only        a comma-separated subset of: encoder use-lite scoring quant-scan quant-accuracy store server rank-path
#   --skip-build  use the existing Release build
#   --out FILE    where to write (default bench/RESULTS.md, or bench/RESULTS.quick.md with --quick)
#   after --       passed to every bench command, e.g. `-- --int8-kernel avx512bw`
# A full run takes long (1M-row catalogs are loaded several times): run it when the machine is quiet. A suite that
# fails is recorded as failed (exit status and the tail of its stderr) and the others still run; the script then
# exits non-zero. Progress lines and stderr of each suite go to bench/run-all.log/<suite>.err.
# The "Cluster scale-out" section is not a suite here: tools/cluster-bench.sh writes it between the marker comments
# <!-- cluster-bench:begin --> and <!-- cluster-bench:end -->, and this script carries that block over unchanged.
set -uo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

quick=0; only=""; build=1; out=""; extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --only) only="$2"; shift ;;
    --skip-build) build=0 ;;
    --out) out="$2"; shift ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "run-all.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[ -n "$out" ] || { [ $quick -eq 1 ] && out="bench/RESULTS.quick.md" || out="bench/RESULTS.md"; }

bench_dll="bench/RankEngine.Bench/bin/Release/net10.0/RankEngine.Bench.dll"
logdir="bench/run-all.log"
mkdir -p "$logdir"

if [ $build -eq 1 ]; then
  echo "run-all: building Release…" >&2
  dotnet build RankEngine.sln -c Release -v q --nologo -clp:ErrorsOnly || { echo "run-all: build failed" >&2; exit 1; }
fi
[ -f "$bench_dll" ] || { echo "run-all: $bench_dll is missing (build first)" >&2; exit 1; }

# Benchmark models (MiniLM-sized random BERT: .rem fp32/f16/i8, ONNX fp32/int8 dynamic).
for f in models/minilm-random.rem models/minilm-random-f16.rem models/minilm-random-i8.rem \
         models/minilm-random/model.onnx models/minilm-random/model-int8-dynamic.onnx; do
  if [ ! -f "$f" ]; then
    echo "run-all: $f is missing: running tools/bench-models.sh" >&2
    tools/bench-models.sh || { echo "run-all: tools/bench-models.sh failed" >&2; exit 1; }
    break
  fi
done
[ -f models/default.rem ] || echo "run-all: models/default.rem is missing (tools/setup.sh makes it): use-lite and quant-accuracy will fail" >&2
if ! /usr/bin/python3 -c "import faiss" 2>/dev/null; then
  echo "run-all: installing Debian's python3-faiss for the FAISS contenders" >&2
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq && $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-faiss libopenblas0-pthread python3-numpy
fi

# Suites: name|full arguments|quick arguments|title. BenchmarkDotNet suites start with "bdn ".
suites=(
  "encoder|encoder 13|encoder 1|Encoder (CPU): MiniLM-sized BERT, RankEngine fp32 / fp16 / int8 weights vs ONNX Runtime fp32 and int8 dynamic"
  "use-lite|use-lite 5|use-lite 1|Encoder: USE-lite vs its JS reference"
  "scoring|scoring 1000000 7|scoring 20000 1|Scoring + top-k: fp32 vs FAISS IndexFlatIP"
  "quant-scan|quant-scan 1000000 5 8|quant-scan 20000 1 2|Quantised catalog scans: fp32 / int8 vs FAISS IndexFlatIP / SQ8, recall@100"
  "quant-accuracy|quant-accuracy|quant-accuracy 200|Encoder accuracy: USE-lite int8 vs fp32, per int8 kernel"
  "store|bdn --filter *StoreReadMany* *CatalogMirrorBuild* --job short|bdn --filter *StoreReadMany* --job dry|Store reads (BenchmarkDotNet)"
  "server|server 10000 4 4 5 2|server 1000 2 2 1 0.5|Server vs embedded"
  "rank-path|rank-path 1000000 5|rank-path 20000 1|One ranking path: RANK vs the scorer floor"
)

cpu_model="$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
cpu_flags="$(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2- | tr ' ' '\n' | grep -E '^(avx|fma|f16c|amx|vnni|sse4|bmi)' | tr '\n' ' ' | sed 's/ $//')"
cores="$(nproc)"
mem="$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
dotnet_runtime="$(dotnet --list-runtimes 2>/dev/null | awk '/Microsoft.NETCore.App/ {print $2}' | tail -1)"
dotnet_sdk="$(dotnet --version 2>/dev/null)"
commit="$(git rev-parse --short HEAD)"
dirty=""; git diff --quiet HEAD -- src bench tools 2>/dev/null || dirty=" (with uncommitted changes under src/, bench/ or tools/)"
started="$(date -u '+%Y-%m-%d %H:%M UTC')"
load_start="$(cut -d' ' -f1-3 /proc/loadavg)"

body="$(mktemp)"
failed=0
for entry in "${suites[@]}"; do
  IFS='|' read -r name full quickargs title <<< "$entry"
  if [ -n "$only" ] && ! [[ ",$only," == *",$name,"* ]]; then continue; fi
  args="$full"; [ $quick -eq 1 ] && args="$quickargs"
  # Globs in the BDN filters must reach BenchmarkDotNet unexpanded.
  set -f; read -r -a argv <<< "$args"; set +f
  if [ "${argv[0]}" = "bdn" ]; then
    cmd=(dotnet run -c Release --no-build --project bench/RankEngine.Bench -- "${argv[@]:1}" "${extra[@]}")
    shown="cd bench/RankEngine.Bench && dotnet run -c Release -- ${args#bdn }"
  else
    cmd=(dotnet "$bench_dll" "${argv[@]}" "${extra[@]}")
    shown="dotnet bench/RankEngine.Bench/bin/Release/net10.0/RankEngine.Bench.dll $args"
  fi
  echo "run-all: $name: ${cmd[*]}" >&2
  [ ${#extra[@]} -gt 0 ] && shown="$shown ${extra[*]}"
  t0=$(date +%s); load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
  if [ "${argv[0]}" = "bdn" ]; then
    (cd bench/RankEngine.Bench && dotnet run -c Release --no-build -- "${argv[@]:1}" "${extra[@]}") > "$logdir/$name.out" 2> "$logdir/$name.err"
  else
    "${cmd[@]}" > "$logdir/$name.out" 2> "$logdir/$name.err"
  fi
  rc=$?
  t1=$(date +%s)
  {
    echo "## $title"
    echo
    echo "\`$shown\` ($((t1 - t0)) s; load average before $load_before, after $(cut -d' ' -f1-3 /proc/loadavg))"
    echo
    if [ "${argv[0]}" = "bdn" ]; then
      # BenchmarkDotNet prints its whole log; keep its summary (environment lines and tables).
      awk '/^\/\/ \* Summary \*/ {keep=1} /^\/\/ \* Legends \*/ {keep=0} keep' "$logdir/$name.out"
    else
      cat "$logdir/$name.out"
    fi
    if [ $rc -ne 0 ]; then
      echo
      echo "**FAILED** (exit status $rc). Last lines of its stderr:"
      echo
      echo '```'
      tr '\r' '\n' < "$logdir/$name.err" | grep -v '^\s*$' | tail -15
      echo '```'
    fi
    echo
  } >> "$body"
  [ $rc -eq 0 ] || failed=$((failed + 1))
done

# The block tools/cluster-bench.sh maintains, kept from the file being replaced (appended after the suites).
kept_cluster=""
[ -f "$out" ] && kept_cluster="$(awk '/<!-- cluster-bench:begin -->/ {k = 1} k {print} /<!-- cluster-bench:end -->/ {k = 0}' "$out")"

{
  echo "# Benchmark results"
  echo
  if [ $quick -eq 1 ]; then
    echo "**Quick smoke run (\`bench/run-all.sh --quick\`): tiny sizes, one round. These figures only show that every suite runs; they are not results.**"
    echo
  fi
  echo "Generated by \`bench/run-all.sh$([ $quick -eq 1 ] && echo ' --quick')$([ -n "$only" ] && echo " --only $only")\`: every section below is"
  echo "the command that ran and its output, unedited. Side-by-side figures come from interleaved rounds in one process"
  echo "(\`bench/RankEngine.Bench/SideBySide.cs\`), because these machines share their host and absolute numbers drift by 2×"
  echo "within minutes: read the per-round ratios, not the absolute rates. The hand-written readings of earlier runs"
  echo "(what limits each figure, pitfalls, goals) are in [HISTORY.md](HISTORY.md)."
  echo
  echo "- Date: $started (finished $(date -u '+%H:%M UTC')). Commit: \`$commit\`$dirty."
  echo "- CPU: $cpu_model; $cores cores (nproc); $mem RAM."
  echo "- CPU flags (SIMD, from /proc/cpuinfo): $cpu_flags"
  echo "- .NET runtime $dotnet_runtime (SDK $dotnet_sdk); $(uname -sr)."
  echo "- Load average at the start: $load_start; at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
  [ ${#extra[@]} -gt 0 ] && echo "- Extra arguments to every suite: \`${extra[*]}\`"
  [ $failed -gt 0 ] && echo "- **$failed suite(s) failed**: see their sections."
  echo
  cat "$body"
  if [ -n "$kept_cluster" ]; then
    echo "$kept_cluster"
    echo
  fi
} > "$out"
rm -f "$body"
echo "run-all: wrote $out ($failed failed)" >&2
[ $failed -eq 0 ]
