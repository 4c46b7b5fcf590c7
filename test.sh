#!/usr/bin/env bash
# Installs what the tests need that this machine lacks, runs every test project of the solution,
# and ends with one line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")"

apt_packages=()
# Each entry: a command the tests run, and the Debian package that provides it.
for pair in redis-server:redis-server kubectl:kubectl chromium:chromium; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || apt_packages+=("${pair##*:}")
done
if [ ${#apt_packages[@]} -gt 0 ]; then
  echo "Installing ${apt_packages[*]} ..."
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_packages[@]}" >/dev/null \
    || { echo "Could not install ${apt_packages[*]}; install them and run ./test.sh again."; exit 1; }
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

# The Aspire CLI (a local tool) for the tests of `dotnet aspire publish`.
dotnet tool restore >/dev/null && dotnet build MlPlatform.sln -nologo -v quiet -clp:ErrorsOnly
build_status=$?
test_status=1
if [ $build_status -eq 0 ]; then
  dotnet test MlPlatform.sln --no-build -nologo -v quiet --logger "trx" --logger "console;verbosity=minimal" \
    --results-directory "$results" -- RunConfiguration.TestSessionTimeout=1500000
  test_status=$?
fi

passed=0
failed=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  e=$(sed -n 's/.* error="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0} + ${e:-0}))
done

# A build that fails, or a run that fails without a failed test, must not look green.
if [ $build_status -ne 0 ] || { [ $test_status -ne 0 ] && [ $failed -eq 0 ]; }; then
  failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
[ $failed -eq 0 ] && [ $passed -gt 0 ]
