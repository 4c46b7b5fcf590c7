#!/usr/bin/env bash
# Runs the fault drills (tests/Reliability.Tests) on a Release build and records how long each killed
# replica took to come back in bench/RESULTS.md. The drills are tests and run in ./test.sh too; this
# records their timings, which a test must not assert on.
# Usage: ./bench/drills.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v redis-server >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }

log=$(mktemp)
trap 'rm -f "$log"' EXIT
dotnet build MlPlatform.sln -c Release -nologo -v quiet -clp:ErrorsOnly
set +e
dotnet test tests/Reliability.Tests -c Release --no-build -nologo --logger "console;verbosity=detailed" >"$log" 2>&1
status=$?
set -e

results=bench/RESULTS.md
section=$(mktemp)
{
  echo "<!-- begin drills -->"
  echo "## Fault drills: recovery after kill -9"
  echo
  echo "Run $(date -u '+%Y-%m-%d %H:%M') UTC on $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB, .NET $(dotnet --version) SDK, Release build."
  echo
  echo "Each drill kills one replica's service process with SIGKILL under a steady load of 8 predicting clients"
  echo "(tests/Reliability.Tests/ReplicaKillDrills.cs), the application started from the AppHost through DCP."
  echo "Running again: DCP reported the replica Finished, the AppHost started it again through Aspire's start"
  echo "command (at once, as it had been healthy: DCP itself restarts nothing) and its health check passes."
  echo "Full capacity: every replica of the service healthy and the new process serving requests again, behind"
  echo "the service's DCP proxy. Target: full capacity within 5 s."
  echo
  echo "| drill | running again | full capacity | requests during the drill | failed |"
  echo "| --- | ---: | ---: | ---: | ---: |"
  # "  Passed ...(service: "inference", index: 0) [10 s]" then " recovery: running again after 4.5 s, full capacity ... after 10.5 s" then " load: 1884 requests, ..., 0 failed; ..."
  awk '
    /KillReplica_UnderPredictLoad/ && /service: / { match($0, /service: "[a-z]+", index: [0-9]+/); drill = substr($0, RSTART, RLENGTH); gsub(/service: |"|index: /, "", drill); sub(/, /, "-", drill) }
    / recovery: running again after / { match($0, /after [0-9.]+ s,/); running = substr($0, RSTART + 6, RLENGTH - 7); match($0, /capacity \(all healthy, new process serving\) after [0-9.]+ s/); full = substr($0, RSTART, RLENGTH); sub(/.* after /, "", full) }
    / load: [0-9]+ requests/ && drill != "" { split($0, words, " "); requests = words[2]; match($0, /[0-9]+ failed/); failed = substr($0, RSTART, RLENGTH); sub(/ failed/, "", failed); printf "| %s | %s | %s | %s | %s |\n", drill, running, full, requests, failed; drill = "" }
  ' "$log"
  echo
  echo "Every drill: $(grep -cE '^\s+Passed ' "$log") passed, $(grep -cE '^\s+Failed ' "$log") failed (all of tests/Reliability.Tests: Redis outage, inference overload and the fuzz run included)."
  echo
  echo 'Reproduce: `./bench/drills.sh`'
  echo "<!-- end drills -->"
} >"$section"

if grep -q '<!-- begin drills -->' "$results"; then
  awk -v file="$section" '
    /<!-- begin drills -->/ { while ((getline line < file) > 0) print line; skip = 1; next }
    /<!-- end drills -->/ { skip = 0; next }
    !skip { print }
  ' "$results" >"$results.new" && mv "$results.new" "$results"
else
  { echo; cat "$section"; } >>"$results"
fi
rm -f "$section"
sed -n '/<!-- begin drills -->/,/<!-- end drills -->/p' "$results"
exit $status
