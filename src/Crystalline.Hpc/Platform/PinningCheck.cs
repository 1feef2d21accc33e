namespace Crystalline.Hpc.Platform;

/// <summary>The outcome of <see cref="PinningCheck.Run"/>: which CPUs a thread could be pinned to and confirmed on.</summary>
/// <param name="Confirmed">CPUs where pinning succeeded and the thread then ran on that CPU.</param>
/// <param name="Failures">One line per CPU that failed, with the reason.</param>
internal sealed record PinningReport(IReadOnlyList<int> Confirmed, IReadOnlyList<string> Failures)
{
    public bool AllConfirmed => Failures.Count == 0 && Confirmed.Count > 0;
}

/// <summary>Tries pinning for real, on a throw-away thread so no caller's affinity changes.</summary>
internal static class PinningCheck
{
    public static PinningReport Run(IPlatform platform, IReadOnlyList<int> cpus)
    {
        var confirmed = new List<int>();
        var failures = new List<string>();
        var thread = new Thread(() =>
        {
            foreach (int cpu in cpus)
            {
                if (!platform.TryPinCurrentThread(cpu, out string? error))
                {
                    failures.Add($"CPU {cpu}: {error}");
                    continue;
                }
                // Linux migrates the calling thread before sched_setaffinity returns; Windows at the next
                // scheduling point, so give it a yield before reading the CPU back.
                Thread.Yield();
                int now = platform.GetCurrentCpu();
                if (now == cpu) confirmed.Add(cpu);
                else failures.Add($"CPU {cpu}: pinned, but the thread runs on CPU {now}");
            }
        }) { IsBackground = true, Name = "crystalline pinning check" };
        thread.Start();
        thread.Join();
        return new PinningReport(confirmed, failures);
    }
}
