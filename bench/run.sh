#!/usr/bin/env bash
# Runs the benchmarks on a Release build and records them in bench/RESULTS.md.
# Usage: ./bench/run.sh [--quick] [benchmark ...]   (no benchmark named: all of them, in order)
set -euo pipefail
cd "$(dirname "$0")/.."

# The peers and load generators the benchmarks run, each as: command, then the Debian package that provides it.
apt_packages=()
for pair in wrk:wrk nginx:nginx redis-server:redis-server; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || apt_packages+=("${pair##*:}")
done
if [ ${#apt_packages[@]} -gt 0 ]; then
  echo "Installing ${apt_packages[*]} ..."
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_packages[@]}" >/dev/null \
    || { echo "Could not install ${apt_packages[*]}; install them and run ./bench/run.sh again."; exit 1; }
fi

dotnet build MlPlatform.sln -c Release -nologo -v quiet -clp:ErrorsOnly
exec dotnet bench/MlPlatform.Bench/bin/Release/net10.0/MlPlatform.Bench.dll "$@"
