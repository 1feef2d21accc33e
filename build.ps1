<#
.SYNOPSIS
  Crystalline.Hpc build driver for Windows (PowerShell 7+ or Windows PowerShell 5.1); mirrors build.sh.

.DESCRIPTION
  .\build.ps1 [build]        restore, build native/ (Linux/macOS only, optional) and the .NET solution (Release)
  .\build.ps1 test [args]    build, then run the xUnit suite (TRX results in artifacts\test-results\)
  .\build.ps1 train [args]   build, then run `crystalline train` (the main job; defaults need no download)
  .\build.ps1 run <cmd> ...  build, then run any `crystalline` command
  .\build.ps1 bench [args]   run the BenchmarkDotNet suites (bench\), arguments passed through
  .\build.ps1 publish        self-contained publish of the CLI for this OS into artifacts\publish\

  native/ (libcrystalline_native) is Linux C code (sched_setaffinity, /sys, hwloc); on Windows it is
  skipped with a message, because the Windows back end calls kernel32 directly
  (GetLogicalProcessorInformationEx, SetThreadGroupAffinity, VirtualAllocExNuma).
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [string]$Verb = 'build',
    [Parameter(Position = 1, ValueFromRemainingArguments = $true)]
    [string[]]$Rest = @()
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$root = $PSScriptRoot
Set-Location $root
$env:DOTNET_CLI_TELEMETRY_OPTOUT = '1'
$env:DOTNET_NOLOGO = '1'
$env:DOTNET_SKIP_FIRST_TIME_EXPERIENCE = '1'

# $IsWindows exists only in PowerShell 6+; Windows PowerShell 5.1 runs only on Windows.
$onWindows = if (Test-Path variable:IsWindows) { $IsWindows } else { $true }

function Assert-Dotnet {
    if (-not (Get-Command dotnet -ErrorAction SilentlyContinue)) {
        [Console]::Error.WriteLine("build.ps1: the .NET SDK 10 is required (https://dot.net); 'dotnet' is not on PATH")
        exit 1
    }
}

# Stops the script when a native command fails, as `set -e` does in build.sh.
function Invoke-Checked {
    param([string]$Exe, [string[]]$Arguments)
    & $Exe @Arguments
    if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
}

function Build-Native {
    if ($onWindows) {
        Write-Host 'native: skipped on Windows (the Windows back end uses kernel32 directly)'
        return
    }
    # PowerShell on Linux/macOS: the same optional CMake build as build.sh.
    & bash (Join-Path $root 'native/build-native.sh')
}

function Build-All {
    param([string[]]$Extra = @())
    Assert-Dotnet
    Build-Native
    Invoke-Checked dotnet (@('build', (Join-Path $root 'Crystalline.Hpc.sln'), '-c', 'Release', '-nologo', '-v', 'quiet', '-p:SkipNative=true') + $Extra)
}

$cli = Join-Path $root 'src/Crystalline.Cli/bin/Release/net10.0/crystalline.dll'

switch ($Verb) {
    'build' { Build-All $Rest }
    'test' {
        Build-All
        $results = Join-Path $root 'artifacts/test-results'
        if (Test-Path $results) { Remove-Item -Recurse -Force $results }
        Invoke-Checked dotnet (@('test', (Join-Path $root 'tests/Crystalline.Hpc.Tests/Crystalline.Hpc.Tests.csproj'), '-c', 'Release', '--no-build', '-nologo',
            '--logger', 'trx;LogFileName=results.trx', '--logger', 'console;verbosity=minimal',
            '--results-directory', $results) + $Rest)
    }
    'train' {
        Build-All
        Invoke-Checked dotnet (@($cli, 'train') + $Rest)
    }
    'run' {
        Build-All
        Invoke-Checked dotnet (@($cli) + $Rest)
    }
    'bench' {
        Assert-Dotnet
        Build-Native
        Invoke-Checked dotnet (@('run', '-c', 'Release', '--project', (Join-Path $root 'bench/Crystalline.Hpc.Benchmarks'), '--') + $Rest)
    }
    'publish' {
        Assert-Dotnet
        Build-Native
        $arch = if ([System.Runtime.InteropServices.RuntimeInformation]::OSArchitecture -eq 'Arm64') { 'arm64' } else { 'x64' }
        $os = if ($onWindows) { 'win' } elseif ($IsMacOS) { 'osx' } else { 'linux' }
        Invoke-Checked dotnet @('publish', (Join-Path $root 'src/Crystalline.Cli/Crystalline.Cli.csproj'), '-c', 'Release', '-r', "$os-$arch", '--self-contained', 'true',
            '-o', (Join-Path $root 'artifacts/publish'), '-nologo', '-v', 'quiet')
    }
    default {
        [Console]::Error.WriteLine("build.ps1: unknown verb '$Verb' (build|test|train|run|bench|publish)")
        exit 2
    }
}
exit 0
