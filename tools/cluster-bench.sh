#!/usr/bin/env bash
# Cluster scale-out benchmark: whole-catalog RANK throughput and latency of three `rankengine serve --cluster`
# processes (one Orleans silo each, Redis membership, on loopback) against one single-node `serve` holding a third of
# the catalog and one holding all of it; writes a "Cluster scale-out" section into bench/RESULTS.md.
#
# Usage: tools/cluster-bench.sh [--items N] [--dim D] [--shards S] [--seconds T] [--connections C] [--users U]
#                               [--quick] [--skip-build] [--keep-logs DIR] [--out FILE]
#   --items N        catalog size (default 3000000): random vectors, seed 42, the same in every deployment
#   --dim D          content vector width (default 64)
#   --shards S       catalog shards (grains) of the cluster (default 12)
#   --seconds T      length of each RANK measurement, after a 3 s warm-up (default 20)
#   --connections C  closed-loop connections, one RANK in flight each, spread round-robin over the front ends (default 8)
#   --users U        users, 10 USER.EVENT each on items of the first third (default 1000); RANK asks for random ones
#   --quick          smoke run: 150000 items, 5 s per measurement (explicit --items/--seconds still win); writes
#                    bench/RESULTS.quick.md unless --out says otherwise: its figures mean nothing
#   --skip-build     use the existing Release build (default: dotnet build RankEngine.sln -c Release first)
#   --keep-logs DIR  copy the servers' logs and the raw results there before the temp dir is removed
#   --out FILE       the results file (default bench/RESULTS.md)
#
# What it does, one deployment after another (never two at once: the machine's cores are shared by all of them), in a
# private temp dir, with a private redis-server on a free port; every process it starts is stopped on exit (trap),
# including on Ctrl-C and failure, and the temp dir is removed:
#   (a) cluster: three `serve --cluster --redis … --shards S` silos sharing one --data-dir. Items are loaded with an
#       Orleans client in the bench tool (ClusterCatalog.UpsertManyAsync, 1,024 items per shard batch), because
#       ITEM.ADDVEC over RESP commits one item per grain call: ~1,000 items/s measured at 20,000 items, i.e. ~50 min
#       for 3M, against ~14,000/s for the client. Users' events go through RESP (USER.EVENT … AT ms, pipelined, all
#       three front ends), so the user grains and their Redis state are real.
#   (b) single node, the first N/3 items; (c) single node, all N items. Items are written with RankingEngine.AddItems
#       on the data directory before `serve` opens it (~29,000 items/s at 150,000; pipelined ITEM.ADDVEC to one
#       single node ran at ~1,200/s, each write waiting for its own log commit), then the same events over RESP.
# Every write path normalises the same raw vectors the same way (ItemInputs.ToRecords), so the deployments hold the
# same catalog bit for bit: the script checks it by comparing the RANK replies of 20 users, cluster vs single node
# (all), byte for byte; a difference fails the run. Servers run with their default limits (at most `nproc` engine
# calls in flight per process, 2 s request deadline) and default collab width (32; the items have no collab vectors).
# Measurements: bench/RankEngine.Bench `rank-load` (closed loop, `RANK u<k> K 10`, k random), reporting requests/s,
# p50/p90/p99 latency, errors, for the cluster how many replies lacked full coverage, and the serving processes' CPU
# time per request (/proc/PID/stat over the measured window): on a machine shared with other work, wall-clock rates
# move by 2× between runs, while CPU time per request shows the fan-out's cost far more steadily (other work still
# slows it some, through shared caches and memory bandwidth).
#
# RESULTS.md: the section lives between the marker comments <!-- cluster-bench:begin --> and <!-- cluster-bench:end -->;
# this script replaces that block (or appends it when absent) and leaves the rest of the file alone, and
# bench/run-all.sh, which rewrites the file from scratch, carries the block over unchanged to the end of its output.
set -euo pipefail
export LC_NUMERIC=C
cd "$(dirname "$0")/.."
# The benchmark measures RANK, not training: without this every deployment would refit its model in the background
# after the loaded events (a single node on its whole catalog, the cluster through its trainer) mid-measurement.
export RANKENGINE__Server__Refit__CheckIntervalSeconds=0
root="$(pwd)"

items=""; dim=64; shards=12; seconds=""; connections=8; users=1000; quick=0; build=1; out=""; keep_logs=""
per_user=10; warmup=3; compare_users=20
while [ $# -gt 0 ]; do
  case "$1" in
    --items) items="$2"; shift ;;
    --dim) dim="$2"; shift ;;
    --shards) shards="$2"; shift ;;
    --seconds) seconds="$2"; shift ;;
    --connections) connections="$2"; shift ;;
    --users) users="$2"; shift ;;
    --quick) quick=1 ;;
    --skip-build) build=0 ;;
    --keep-logs) keep_logs="$2"; shift ;;
    --out) out="$2"; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; exit 0 ;;
    *) echo "cluster-bench: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if [ $quick -eq 1 ]; then
  items="${items:-150000}"; seconds="${seconds:-5}"; out="${out:-bench/RESULTS.quick.md}"
else
  items="${items:-3000000}"; seconds="${seconds:-20}"; out="${out:-bench/RESULTS.md}"
fi
for v in items dim shards seconds connections users; do
  [[ "${!v}" =~ ^[0-9]+$ ]] && [ "${!v}" -gt 0 ] || { echo "cluster-bench: --$v must be a positive integer, not '${!v}'" >&2; exit 2; }
done
[ "$items" -ge 3 ] || { echo "cluster-bench: --items must be at least 3" >&2; exit 2; }
third=$((items / 3))
[ "$compare_users" -le "$users" ] || compare_users="$users"

log() { echo "cluster-bench: $*" >&2; }
cli_dll="src/RankEngine.Cli/bin/Release/net10.0/RankEngine.Cli.dll"
bench_dll="bench/RankEngine.Bench/bin/Release/net10.0/RankEngine.Bench.dll"
bench() { dotnet "$bench_dll" "$@"; }

if [ $build -eq 1 ]; then
  log "building Release…"
  dotnet build RankEngine.sln -c Release -v q --nologo -clp:ErrorsOnly >&2 || { log "build failed"; exit 1; }
fi
for f in "$cli_dll" "$bench_dll"; do [ -f "$f" ] || { log "$f is missing (build first)"; exit 1; }; done

tmp="$(mktemp -d "${TMPDIR:-/tmp}/cluster-bench.XXXXXX")"
mkdir -p "$tmp/logs" "$tmp/results"
pids=()      # every server this script started and has not stopped yet
redis_pid=""

# Stops the given pids: SIGTERM, up to 40 s to exit (a silo leaves the membership, a store checkpoints), then SIGKILL.
stop_pids() {
  local pid t
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "$@"; do
    for ((t = 0; t < 400; t++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then log "pid $pid did not stop in 40 s: killing it"; kill -KILL "$pid" 2>/dev/null || true; fi
    wait "$pid" 2>/dev/null || true
  done
  local keep=() p
  for p in "${pids[@]}"; do [[ " $* " == *" $p "* ]] || keep+=("$p"); done
  pids=("${keep[@]}")
}

cleanup() {
  local rc=$?
  # Finish the cleanup even if another Ctrl-C comes (the servers are in their own sessions: see start()).
  trap '' INT TERM
  trap - EXIT
  [ ${#pids[@]} -gt 0 ] && log "stopping ${#pids[@]} server(s)…" && stop_pids "${pids[@]}"
  # Redis last: silos leaving the cluster still write the membership table.
  [ -n "$redis_pid" ] && stop_pids "$redis_pid"
  if [ -n "$keep_logs" ]; then mkdir -p "$keep_logs" && cp -r "$tmp/logs" "$tmp/results" "$keep_logs/" 2>/dev/null || true; fi
  rm -rf "$tmp"
  exit $rc
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# N free loopback ports, all distinct (held open together while they are picked).
free_ports() {
  /usr/bin/python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

# Waits until `redis-cli -p PORT PING` answers PONG (timeout in seconds); fails if the process died.
wait_ping() {
  local port=$1 pid=$2 timeout=$3 t
  for ((t = 0; t < timeout * 10; t++)); do
    [ "$(redis-cli -p "$port" PING 2>/dev/null)" = "PONG" ] && return 0
    kill -0 "$pid" 2>/dev/null || { log "process $pid (port $port) exited while starting"; return 1; }
    sleep 0.1
  done
  log "port $port did not answer PING within $timeout s"; return 1
}

kv() { sed -n "s/^$2=//p" "$1"; }           # kv FILE KEY: a value from a bench --result file
commas() { echo "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }   # 3000000 -> 3,000,000
rss_mib() { awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$1/status" 2>/dev/null || echo "?"; }

t_start=$(date +%s)
started="$(date -u '+%Y-%m-%d %H:%M UTC')"
commit="$(git rev-parse --short HEAD)"
dirty=""; git diff --quiet HEAD -- src bench tools 2>/dev/null || dirty=" (with uncommitted changes under src/, bench/ or tools/)"
cpu_model="$(lscpu | sed -n 's/^Model name: *//p' | head -1)"
cpu_flags="$(lscpu | sed -n 's/^Flags: *//p' | tr ' ' '\n' | grep -E '^(avx|fma|f16c|amx|vnni|sse4|bmi)' | tr '\n' ' ' | sed 's/ $//')"
cores="$(nproc)"
clk_tck="$(getconf CLK_TCK)"
mem="$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
dotnet_runtime="$(dotnet --list-runtimes 2>/dev/null | awk '/Microsoft.NETCore.App/ {print $2}' | tail -1)"
dotnet_sdk="$(dotnet --version 2>/dev/null)"
redis_version="$(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')"
log "$items items × $dim-d, $shards shards, $users users, $connections connections, $seconds s per measurement; temp dir $tmp"

# ---------------------------------------------------------------- (a) the 3-process cluster
read -r redis_port p1 p2 p3 s1 s2 s3 g1 g2 g3 <<< "$(free_ports 10)"
mkdir -p "$tmp/redis"
# Servers start in their own session (setsid, same pid), so a Ctrl-C on the terminal reaches this script and the
# bench tool but not the servers: the trap then stops them in order (silos before the Redis they leave through).
setsid redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly yes --dir "$tmp/redis" > "$tmp/logs/redis.log" 2>&1 &
redis_pid=$!
wait_ping "$redis_port" "$redis_pid" 30
log "redis-server $redis_version on port $redis_port"

cluster_ports=("$p1" "$p2" "$p3"); silo_ports=("$s1" "$s2" "$s3"); gateway_ports=("$g1" "$g2" "$g3")
cluster_pids=()
for i in 0 1 2; do
  setsid dotnet "$cli_dll" serve --cluster --redis "127.0.0.1:$redis_port" --content-dim "$dim" --shards "$shards" \
    --data-dir "$tmp/cluster-shards" --port "${cluster_ports[$i]}" --http-port 0 \
    --silo-port "${silo_ports[$i]}" --gateway-port "${gateway_ports[$i]}" > "$tmp/logs/silo-$((i + 1)).log" 2>&1 &
  cluster_pids+=($!); pids+=($!)
done
t0=$(date +%s)
for i in 0 1 2; do wait_ping "${cluster_ports[$i]}" "${cluster_pids[$i]}" 120; done
for ((t = 0; t < 600; t++)); do
  n=0
  for p in "${cluster_ports[@]}"; do
    [ "$(redis-cli -p "$p" INFO cluster 2>/dev/null | tr -d '\r' | sed -n 's/^cluster_active_silos://p')" = "3" ] && n=$((n + 1))
  done
  [ $n -eq 3 ] && break
  sleep 0.2
done
[ $n -eq 3 ] || { log "the three silos did not all see 3 active silos within 120 s"; exit 1; }
cluster_start_s=$(( $(date +%s) - t0 ))
log "cluster up: 3 silos active (${cluster_start_s} s); loading $items items through an Orleans client"

bench cluster-load items --via orleans --redis "127.0.0.1:$redis_port" --shards "$shards" --items "$items" --dim "$dim" \
  --result "$tmp/results/cluster-items.txt"
cluster_items_s="$(kv "$tmp/results/cluster-items.txt" seconds)"
bench cluster-load events --ports "$p1,$p2,$p3" --users "$users" --per-user "$per_user" --item-range "$third" \
  --result "$tmp/results/cluster-events.txt"
cluster_events_s="$(kv "$tmp/results/cluster-events.txt" seconds)"
bench cluster-load placement --redis "127.0.0.1:$redis_port" --shards "$shards" --result "$tmp/results/placement.txt" >&2
bench rank-dump --port "$p1" --users "$compare_users" --out "$tmp/results/dump-cluster"
log "cluster: measuring RANK"
load_before_cluster="$(cut -d' ' -f1 /proc/loadavg)"
bench rank-load --ports "$p1,$p2,$p3" --connections "$connections" --seconds "$seconds" --users "$users" --warmup "$warmup" \
  --pids "${cluster_pids[0]},${cluster_pids[1]},${cluster_pids[2]},$redis_pid" --clk-tck "$clk_tck" --result "$tmp/results/rank-cluster.txt" >&2
echo "load=$load_before_cluster → $(cut -d' ' -f1 /proc/loadavg)" >> "$tmp/results/rank-cluster.txt"
cluster_rss=""; for pid in "${cluster_pids[@]}"; do cluster_rss+="${cluster_rss:+ / }$(rss_mib "$pid")"; done
cluster_partial_info=0
for p in "${cluster_ports[@]}"; do
  v="$(redis-cli -p "$p" INFO cluster | tr -d '\r' | sed -n 's/^cluster_partial_rankings://p')"
  cluster_partial_info=$((cluster_partial_info + ${v:-0}))
done
stop_pids "${cluster_pids[@]}"
stop_pids "$redis_pid"; redis_pid=""
rm -rf "$tmp/cluster-shards"

# ---------------------------------------------------------------- (b), (c) single nodes
# single NAME ITEMS: load ITEMS items into a fresh directory, serve it, load the events, measure; dumps with DUMP=1.
single() {
  local name=$1 n=$2 port pid t0
  read -r port <<< "$(free_ports 1)"
  log "single node ($name): writing $n items with RankingEngine.AddItems"
  bench cluster-load items --via direct --data-dir "$tmp/$name" --items "$n" --dim "$dim" --result "$tmp/results/$name-items.txt"
  t0=$(date +%s%N)
  setsid dotnet "$cli_dll" serve --content-dim "$dim" --data-dir "$tmp/$name" --port "$port" --http-port 0 > "$tmp/logs/$name.log" 2>&1 &
  pid=$!; pids+=("$pid")
  wait_ping "$port" "$pid" 900
  awk -v ms=$(( ($(date +%s%N) - t0) / 1000000 )) 'BEGIN {printf "seconds=%.1f\n", ms / 1000}' > "$tmp/results/$name-open.txt"
  bench cluster-load events --ports "$port" --users "$users" --per-user "$per_user" --item-range "$third" \
    --result "$tmp/results/$name-events.txt"
  if [ "${DUMP:-0}" = 1 ]; then bench rank-dump --port "$port" --users "$compare_users" --out "$tmp/results/dump-$name"; fi
  log "single node ($name): measuring RANK"
  local load_before; load_before="$(cut -d' ' -f1 /proc/loadavg)"
  bench rank-load --ports "$port" --connections "$connections" --seconds "$seconds" --users "$users" --warmup "$warmup" \
    --pids "$pid" --clk-tck "$clk_tck" --result "$tmp/results/rank-$name.txt" >&2
  echo "rss_mib=$(rss_mib "$pid")" >> "$tmp/results/rank-$name.txt"
  echo "load=$load_before → $(cut -d' ' -f1 /proc/loadavg)" >> "$tmp/results/rank-$name.txt"
  stop_pids "$pid"
  rm -rf "${tmp:?}/$name"
}
single single-third "$third"
DUMP=1 single single-all "$items"

compare_rc=0
bench rank-compare "$tmp/results/dump-cluster" "$tmp/results/dump-single-all" > "$tmp/results/compare.txt" 2> "$tmp/results/compare.err" || compare_rc=$?
cat "$tmp/results/compare.txt" "$tmp/results/compare.err" >&2

# ---------------------------------------------------------------- the section
r() { kv "$tmp/results/rank-$1.txt" "$2"; }
row() {  # row LABEL RESULT ITEMS-PER-PROCESS
  printf '| %s | %s | %.1f | %.1f | %.1f | %.1f | %s | %.1f |\n' "$1" "$3" "$(r "$2" rps)" "$(r "$2" p50_ms)" "$(r "$2" p90_ms)" "$(r "$2" p99_ms)" \
    "$(r "$2" errors)" "$(r "$2" cpu_ms_per_request)"
}
# Per silo (in start order: silo 1 answers RESP on the first port): its shards and items, from the shard grains.
placement_items=""; placement_lines=""
silos="$(kv "$tmp/results/placement.txt" silos)"
for j in 0 1 2; do
  it=0; count=0; list="none"
  for ((i = 0; i < silos; i++)); do
    if [[ "$(kv "$tmp/results/placement.txt" "silo$i")" == "127.0.0.1:${silo_ports[$j]}@"* ]]; then
      it="$(kv "$tmp/results/placement.txt" "silo${i}_items")"; count="$(kv "$tmp/results/placement.txt" "silo${i}_shards")"
      list="$(kv "$tmp/results/placement.txt" "silo${i}_shard_list")"
    fi
  done
  placement_items+="${placement_items:+ / }$(commas "$it")"
  placement_lines+="${placement_lines:+; }silo $((j + 1)): $count shard$([ "$count" = 1 ] || echo s) ($list), $(commas "$it") items"
done
eff_all="$(awk -v c="$(r cluster rps)" -v s="$(r single-all rps)" 'BEGIN {printf "%.2f", c / s}')"
eff_third="$(awk -v c="$(r cluster rps)" -v s="$(r single-third rps)" 'BEGIN {printf "%.2f", c / (3 * s)}')"
cpu_eff_all="$(awk -v c="$(r cluster cpu_ms_per_request)" -v s="$(r single-all cpu_ms_per_request)" 'BEGIN {printf "%.2f", s / c}')"
cpu_eff_third="$(awk -v c="$(r cluster cpu_ms_per_request)" -v s="$(r single-third cpu_ms_per_request)" 'BEGIN {printf "%.2f", 3 * s / c}')"
cluster_requests="$(r cluster requests)"; cluster_partial="$(r cluster partial)"
secs() { awk -v s="$1" 'BEGIN {printf "%.0f", s}'; }
total_s=$(( $(date +%s) - t_start ))
args="--items $items --dim $dim --shards $shards --seconds $seconds --connections $connections --users $users"
[ $quick -eq 1 ] && args="--quick $args"

section="$tmp/section.md"
{
  echo "<!-- cluster-bench:begin -->"
  echo "## Cluster scale-out: 3 \`serve --cluster\` silos vs one single node"
  echo
  if [ $quick -eq 1 ]; then
    echo "**Quick smoke run: a small catalog and short measurements; these figures only show that the script runs end to end.**"
    echo
  fi
  echo "\`tools/cluster-bench.sh $args\` ($total_s s; written by the script, between the cluster-bench marker comments; bench/run-all.sh keeps it)"
  echo
  echo "- Date: $started. Commit: \`$commit\`$dirty."
  echo "- CPU: $cpu_model; $cores cores (nproc); $mem RAM. CPU flags (SIMD, lscpu): $cpu_flags"
  echo "- .NET runtime $dotnet_runtime (SDK $dotnet_sdk); redis-server $redis_version; $(uname -sr)."
  echo "- Catalog: N = $(commas "$items") random unit vectors, D = $dim (seed 42, no collab vectors, no fields), the same bits in every deployment; S = $shards shards in the cluster; $(commas "$users") users × $per_user USER.EVENT (fixed AT times) on items of the first third, through RESP."
  echo "- Load: C = $connections connections, closed loop (one \`RANK u<random> K 10\` in flight each), spread round-robin over the front ends; ${warmup} s warm-up, then T = $seconds s. Servers at their defaults (at most $cores engine calls in flight per process, 2 s request deadline); the deployments ran one after another, never together."
  echo "- Load times: cluster $(secs "$cluster_items_s") s for the items (Orleans client, $(commas "$(awk -v n="$items" -v s="$cluster_items_s" 'BEGIN {printf "%d", n / s}')") items/s), $(secs "$cluster_events_s") s for the events over RESP (silos up in ${cluster_start_s} s);" \
       "single node (third) $(secs "$(kv "$tmp/results/single-third-items.txt" seconds)") s items (RankingEngine.AddItems) + $(secs "$(kv "$tmp/results/single-third-open.txt" seconds)") s serve start + $(secs "$(kv "$tmp/results/single-third-events.txt" seconds)") s events;" \
       "single node (all) $(secs "$(kv "$tmp/results/single-all-items.txt" seconds)") s items + $(secs "$(kv "$tmp/results/single-all-open.txt" seconds)") s serve start + $(secs "$(kv "$tmp/results/single-all-events.txt" seconds)") s events."
  echo
  echo "| deployment | items per process | RANK req/s | p50 ms | p90 ms | p99 ms | errors | server CPU ms per RANK |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  row "cluster: 3 silos, Redis membership, $shards shards" cluster "$placement_items"
  row "single node, a third" single-third "$(commas "$third")"
  row "single node, all" single-all "$(commas "$items")"
  echo
  echo "- Scale efficiency: cluster req/s ÷ single node (all) req/s = **${eff_all}**; cluster req/s ÷ (3 × single node (third) req/s) = **${eff_third}**."
  echo "  On these shared cores a free fan-out would give 1 and 1/9 ≈ 0.11 (a cluster RANK does the work of three third-size RANKs on the same CPU); with a machine per silo, 3 and 1/3."
  echo "- All three silos share the same $cores cores here, so this measures what the fan-out costs (grain calls, merging, three processes on one CPU), not hardware scale-out."
  echo "- The same in CPU time (user + system of the serving processes over the measured window, Redis included for the cluster): single node (all) CPU per RANK ÷ cluster CPU per RANK = **${cpu_eff_all}**; 3 × single node (third) ÷ cluster = **${cpu_eff_third}** (1 would be a fan-out that costs nothing)."
  echo "- Cores kept busy by the serving processes during each measurement: cluster $(r cluster cores_busy), single node (third) $(r single-third cores_busy), single node (all) $(r single-all cores_busy) of $cores."
  echo "- 1-minute load average before → after each measurement (it counts the deployment's own runnable threads as well as other work): cluster $(r cluster load); single node (third) $(r single-third load); single node (all) $(r single-all load)."
  least="$(for d in cluster single-third single-all; do r "$d" cores_busy; done | sort -g | head -1)"
  if awk -v b="$least" -v c="$cores" 'BEGIN {exit !(b < 0.9 * c)}'; then
    echo "- **The machine was shared**: a deployment kept only $least of the $cores cores busy, so other work took CPU time from it; the req/s figures are then low by about that much, and a deployment with more runnable threads (the cluster) can win a larger share than one process does. Rerun on a quiet machine for firm figures."
  fi
  if [ "${cluster_partial:-0}" = "0" ] && [ "$cluster_partial_info" = "0" ]; then
    echo "- Coverage: every one of the cluster's $(commas "$cluster_requests") measured replies had full coverage (no \`coverage\` entry; \`cluster_partial_rankings\` 0 on every front end)."
  else
    echo "- Coverage: **$cluster_partial of the cluster's $cluster_requests measured replies had partial coverage** (\`cluster_partial_rankings\` over the front ends: $cluster_partial_info)."
  fi
  if [ $compare_rc -eq 0 ]; then
    echo "- Correctness: the RANK replies of $compare_users users are byte-for-byte identical on the cluster and on the single node (all): $(sed -n 's/^RANK replies compared byte for byte: //p' "$tmp/results/compare.txt")."
  else
    echo "- **Correctness FAILED**: cluster vs single node (all), $compare_users users: $(cat "$tmp/results/compare.txt" | tr '\n' ' ')"
  fi
  echo "- Shard placement (ShardPlacement: shard i on the i mod n-th silo; read from each shard grain): $placement_lines."
  echo "- Resident memory after the measurement: silos $cluster_rss MiB; single node (third) $(r single-third rss_mib) MiB; single node (all) $(r single-all rss_mib) MiB."
  echo "<!-- cluster-bench:end -->"
} > "$section"

if [ -f "$out" ] && grep -q '<!-- cluster-bench:begin -->' "$out"; then
  awk -v section="$section" '
    /<!-- cluster-bench:begin -->/ { while ((getline line < section) > 0) print line; skip = 1; next }
    /<!-- cluster-bench:end -->/ { skip = 0; next }
    !skip { print }' "$out" > "$tmp/out.md"
else
  { [ -f "$out" ] && cat "$out" && echo; cat "$section"; } > "$tmp/out.md"
fi
cp "$tmp/out.md" "$out"
cat "$section"
log "wrote the cluster section to $out ($total_s s)"
[ $compare_rc -eq 0 ] || { log "the cluster's RANK replies differ from the single node's"; exit 1; }
