#!/usr/bin/env bash
# Crystalline.Hpc build driver.
#   ./build.sh [build]        restore, build native/ (CMake, optional) and the .NET solution (Release)
#   ./build.sh test [args]    build, then run the xUnit suite (TRX results in artifacts/test-results/)
#   ./build.sh train [args]   build, then run `crystalline train` (the main job; defaults need no download)
#   ./build.sh run <cmd> ...  build, then run any `crystalline` command
#   ./build.sh bench [args]   run the BenchmarkDotNet suites (bench/), arguments passed through
#   ./build.sh publish        self-contained linux-x64 publish of the CLI into artifacts/publish/
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

need_dotnet() {
  if ! command -v dotnet >/dev/null 2>&1; then
    echo "build.sh: the .NET SDK 10 is required (https://dot.net); 'dotnet' is not on PATH" >&2
    exit 1
  fi
}

build_native() {
  bash "$root/native/build-native.sh"
}

build() {
  need_dotnet
  build_native
  dotnet build "$root/Crystalline.Hpc.sln" -c Release -nologo -v quiet -p:SkipNative=true "$@"
}

verb="${1:-build}"
[ $# -gt 0 ] && shift
case "$verb" in
  build) build "$@" ;;
  test)
    build
    rm -rf "$root/artifacts/test-results"
    dotnet test "$root/tests/Crystalline.Hpc.Tests/Crystalline.Hpc.Tests.csproj" -c Release --no-build -nologo \
      --logger "trx;LogFileName=results.trx" --logger "console;verbosity=minimal" \
      --blame-hang-timeout 10m --results-directory "$root/artifacts/test-results" "$@"
    ;;
  train)
    build
    exec dotnet "$root/src/Crystalline.Cli/bin/Release/net10.0/crystalline.dll" train "$@"
    ;;
  run)
    build
    exec dotnet "$root/src/Crystalline.Cli/bin/Release/net10.0/crystalline.dll" "$@"
    ;;
  bench)
    need_dotnet
    build_native
    dotnet run -c Release --project "$root/bench/Crystalline.Hpc.Benchmarks" -- "$@"
    ;;
  publish)
    need_dotnet
    build_native
    dotnet publish "$root/src/Crystalline.Cli/Crystalline.Cli.csproj" -c Release -r linux-x64 --self-contained true \
      -o "$root/artifacts/publish" -nologo -v quiet
    ;;
  *) echo "build.sh: unknown verb '$verb' (build|test|train|run|bench|publish)" >&2; exit 2 ;;
esac
