using System.Runtime.InteropServices;

namespace Crystalline.Hpc.Platform.Linux;

/// <summary>The few libc calls the Linux back end needs (glibc and musl both export them).</summary>
internal static unsafe partial class LinuxLibc
{
    private const string Libc = "libc";

    public const int EPERM = 1;
    public const int EINVAL = 22;

    /// <summary>pid 0 means the calling thread (Linux affinity is per thread).</summary>
    [LibraryImport(Libc, EntryPoint = "sched_setaffinity", SetLastError = true)]
    public static partial int SchedSetAffinity(int pid, nuint cpuSetSize, ulong* mask);

    [LibraryImport(Libc, EntryPoint = "sched_getaffinity", SetLastError = true)]
    public static partial int SchedGetAffinity(int pid, nuint cpuSetSize, ulong* mask);

    [LibraryImport(Libc, EntryPoint = "sched_getcpu", SetLastError = true)]
    public static partial int SchedGetCpu();

    /// <summary>A short name for an errno value from these calls.</summary>
    public static string ErrnoName(int errno) => errno switch
    {
        EPERM => "EPERM (operation not permitted: a container or seccomp policy forbids changing affinity)",
        EINVAL => "EINVAL (no allowed CPU in the mask, or the mask is too small for this kernel)",
        3 => "ESRCH (no such thread)",
        14 => "EFAULT (bad mask address)",
        38 => "ENOSYS (the call is not implemented here)",
        _ => $"errno {errno}",
    };
}
