using Crystalline.Hpc.Platform;

namespace Crystalline.Hpc.Benchmarks.Kernels;

/// <summary>Thread CPU seconds of one run of an action (the probes' clock: on a shared machine it counts what this thread ran).</summary>
internal static class ProbeClock
{
    public static double Seconds(Action action)
    {
        double t0 = ThreadClock.Now();
        action();
        return ThreadClock.Now() - t0;
    }
}
