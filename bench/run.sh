#!/usr/bin/env bash
# Runs the benchmarks on a Release build and records them in bench/RESULTS.md.
# Usage: ./bench/run.sh [--quick] [benchmark ...]
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build MlPlatform.sln -c Release -nologo -v quiet -clp:ErrorsOnly
exec dotnet bench/MlPlatform.Bench/bin/Release/net10.0/MlPlatform.Bench.dll "$@"
