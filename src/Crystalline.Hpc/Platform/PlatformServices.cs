namespace Crystalline.Hpc.Platform;

/// <summary>The process-wide platform back end, chosen once on first use.</summary>
public static class PlatformServices
{
    private static readonly Lazy<IPlatform> s_current = new(Create, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The back end for this machine (Linux, Windows or portable fallback).</summary>
    public static IPlatform Current => s_current.Value;

    private static IPlatform Create()
    {
        // The OS-specific back ends are chosen here; anything that fails falls back with its reason.
        return new PortablePlatform(["no OS-specific back end yet"]);
    }
}
