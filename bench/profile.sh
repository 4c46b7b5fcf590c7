#!/usr/bin/env bash
# Where the CPU goes while a benchmark runs: perf samples every MlPlatform process (and the benchmark's own) for a
# while, with the runtime writing its JIT symbols for perf, and prints the hottest symbols of each.
# Usage: ./bench/profile.sh <benchmark> [seconds before sampling, default 40] [seconds of sampling, default 10]
# Build first (./bench/run.sh builds): this runs the Release build as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
benchmark=${1:?usage: ./bench/profile.sh <benchmark> [delay] [duration]}
delay=${2:-40}
duration=${3:-10}
out=$(mktemp -d /tmp/mlplatform-profile-XXXXXX)
command -v perf >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-perf >/dev/null; }

# perf reads JIT symbols from /tmp/perf-<pid>.map; W^X maps JIT code twice, and perf then sees an anonymous mapping.
export DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0
dotnet bench/MlPlatform.Bench/bin/Release/net10.0/MlPlatform.Bench.dll "$benchmark" > "$out/bench.log" 2>&1 &
bench=$!
sleep "$delay"
pids=$(pgrep -f 'bin/Release/net10.0/MlPlatform\.(Gateway|Preprocessing|Inference|Postprocessing)' || true)
samplers=()
for pid in $pids $bench; do
  # Named now: the processes are gone when the report is made.
  (tr '\0' ' ' < "/proc/$pid/cmdline" | grep -oE 'MlPlatform\.[A-Za-z]+' | head -1) > "$out/$pid.name" 2>/dev/null || true
  perf record -F 499 -g -p "$pid" -o "$out/$pid.data" -- sleep "$duration" >/dev/null 2>&1 &
  samplers+=($!)
done
wait "${samplers[@]}" 2>/dev/null || true
set +o pipefail
for pid in $pids $bench; do
  [ -f "$out/$pid.data" ] || continue
  name=$(cat "$out/$pid.name" 2>/dev/null)
  echo "== ${name:-pid $pid} (pid $pid): by module"
  perf report -i "$out/$pid.data" --no-children --sort dso --stdio -g none 2>/dev/null | grep '%' | head -8
  echo "== ${name:-pid $pid} (pid $pid): hottest symbols"
  # The runtime's symbols name the whole signature; the method is enough to read.
  perf report -i "$out/$pid.data" --no-children --sort symbol --stdio -g none 2>/dev/null | grep '%' | head -25 \
    | sed -E 's/\(.*\)\[Optimized[A-Za-z0-9]*\]//; s/ +- +- +$//; s/\[[A-Za-z.]+\] //g'
done
wait "$bench" || true
echo "raw samples and the benchmark's output: $out"
