using Crystalline.Hpc.Platform.Linux;
using Crystalline.Hpc.Platform.Windows;

namespace Crystalline.Hpc.Platform;

/// <summary>The process-wide platform back end, chosen once on first use.</summary>
public static class PlatformServices
{
    private static readonly Lazy<IPlatform> s_current = new(() => Create(PlatformOptions.FromEnvironment()), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>
    /// The back end for this machine: Linux (native helper or /sys, libc affinity, libnuma), Windows
    /// (processor groups, VirtualAllocExNuma) or the portable fallback. Never throws: a back end that
    /// cannot start is replaced by the portable one, with the reason in <see cref="IPlatform.FallbackReasons"/>.
    /// </summary>
    public static IPlatform Current => s_current.Value;

    /// <summary>Builds a back end with the given capabilities switched off (tests, troubleshooting).</summary>
    internal static IPlatform Create(PlatformOptions options)
    {
        if (options.ForcePortable) return new PortablePlatform(["portable back end forced (CRYSTALLINE_PLATFORM=portable)"]);
        try
        {
            if (OperatingSystem.IsLinux()) return new LinuxPlatform(options);
            if (OperatingSystem.IsWindows()) return new WindowsPlatform();
            if (OperatingSystem.IsMacOS())
                return new PortablePlatform(["macOS has no hard thread affinity (thread_policy_set affinity tags are only hints) and no NUMA: portable back end"]);
            return new PortablePlatform([$"no OS-specific back end for {System.Runtime.InteropServices.RuntimeInformation.OSDescription}"]);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Whatever broke (unreadable /sys, a missing libc export, a refused Windows call), the
            // process still runs: portable topology, no affinity, plain aligned memory.
            return new PortablePlatform([$"the {OsName()} back end failed to start ({e.GetType().Name}: {e.Message})"]);
        }
    }

    private static string OsName() => OperatingSystem.IsLinux() ? "Linux" : OperatingSystem.IsWindows() ? "Windows" : "OS";
}
