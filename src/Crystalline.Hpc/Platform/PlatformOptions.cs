namespace Crystalline.Hpc.Platform;

/// <summary>
/// Switches that turn capabilities off, so that every fallback can be exercised on a machine that
/// has them all (tests, and troubleshooting through environment variables).
/// </summary>
internal sealed record PlatformOptions
{
    /// <summary>Use the portable back end whatever the OS.</summary>
    public bool ForcePortable { get; init; }

    /// <summary>Do not use libcrystalline_native even when it is present.</summary>
    public bool DisableNativeLibrary { get; init; }

    /// <summary>Do not use libnuma even when it is present.</summary>
    public bool DisableLibNuma { get; init; }

    /// <summary>Answer every affinity change with EPERM, as a locked-down container does.</summary>
    public bool SimulateAffinityRefusal { get; init; }

    /// <summary>Name probed for the native helper; a name that does not exist simulates its absence through the real load path.</summary>
    public string NativeLibraryName { get; init; } = Linux.NativeHelper.LibraryName;

    /// <summary>Name loaded for libnuma; a name that does not exist simulates its absence through the real load path.</summary>
    public string LibNumaName { get; init; } = Linux.LibNuma.DefaultName;

    /// <summary>Root of the sysfs tree (/sys/devices/system).</summary>
    public string SysfsRoot { get; init; } = Linux.SysfsTopology.DefaultRoot;

    public static PlatformOptions Default { get; } = new();

    /// <summary>
    /// Options from the environment: CRYSTALLINE_PLATFORM=portable, CRYSTALLINE_NO_NATIVE=1,
    /// CRYSTALLINE_NO_NUMA=1, CRYSTALLINE_NO_AFFINITY=1 (documented in docs/platform.md).
    /// </summary>
    public static PlatformOptions FromEnvironment()
    {
        static bool On(string name) => Environment.GetEnvironmentVariable(name) is { } v && v is "1" or "true" or "yes" or "on";
        return new PlatformOptions
        {
            ForcePortable = string.Equals(Environment.GetEnvironmentVariable("CRYSTALLINE_PLATFORM"), "portable", StringComparison.OrdinalIgnoreCase),
            DisableNativeLibrary = On("CRYSTALLINE_NO_NATIVE"),
            DisableLibNuma = On("CRYSTALLINE_NO_NUMA"),
            SimulateAffinityRefusal = On("CRYSTALLINE_NO_AFFINITY"),
        };
    }
}
