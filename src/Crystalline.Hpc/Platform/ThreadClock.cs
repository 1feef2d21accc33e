using System.Runtime.InteropServices;

namespace Crystalline.Hpc.Platform;

/// <summary>
/// CPU time of the calling thread (Linux clock_gettime(CLOCK_THREAD_CPUTIME_ID)). On a machine shared
/// with other busy processes, wall time includes the slices the scheduler gave to someone else; thread
/// CPU time counts only the time this thread actually ran.
/// </summary>
internal static partial class ThreadClock
{
    private const int ClockThreadCpuTimeId = 3;

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out TimeSpec time);

    public static bool Available { get; } = OperatingSystem.IsLinux() && Probe();

    private static bool Probe()
    {
        try { return ClockGetTime(ClockThreadCpuTimeId, out _) == 0; }
        catch (DllNotFoundException) { return false; }
        catch (EntryPointNotFoundException) { return false; }
    }

    /// <summary>Seconds of CPU time this thread has used (0 where unavailable).</summary>
    public static double Now() => NowNanoseconds() * 1e-9;

    /// <summary>Nanoseconds of CPU time this thread has used (0 where unavailable).</summary>
    public static long NowNanoseconds()
    {
        if (!Available) return 0;
        ClockGetTime(ClockThreadCpuTimeId, out var t);
        return t.Seconds * 1_000_000_000L + t.Nanoseconds;
    }
}
