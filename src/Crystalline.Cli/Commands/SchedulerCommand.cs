using System.Diagnostics;
using System.Globalization;
using Crystalline.Hpc.Scheduling;

namespace Crystalline.Cli.Commands;

/// <summary>
/// <c>crystalline scheduler</c>: starts a control process, runs epochs of a synthetic workload (optionally
/// skewed: groups 0, 2, 4 ten times heavier) and prints worker placement (pinned or why not), the
/// time per epoch and the per-worker/per-sphere statistics table.
/// </summary>
internal static class SchedulerCommand
{
    public static int Run(string[] args)
    {
        var a = new CliArgs(args, ["--no-steal", "--skew"], ["--threads", "--depth", "--epochs", "--work"]);
        if (a.Positional.Count > 0) throw new CliUsageException($"unexpected argument '{a.Positional[0]}'");
        int threads = a.GetInt("--threads", Environment.ProcessorCount, 1, 4096);
        int depth = a.GetInt("--depth", 1, 0, 4);
        int epochs = a.GetInt("--epochs", 100, 1, 10_000_000);
        int work = a.GetInt("--work", 20_000, 0, 100_000_000);
        bool steal = !a.GetFlag("--no-steal");
        bool skew = a.GetFlag("--skew");

        using var cp = new ControlProcess(new ControlProcessOptions { WorkerCount = threads, HierarchyDepth = depth, EnableWorkStealing = steal, CollectTimings = true });
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"control process: {cp.WorkerCount} worker(s), depth {depth} ({cp.SphereCount} leaf spheres), stealing {(steal ? "on" : "off")}, hierarchy {cp.Hierarchy.Describe()}"));
        foreach (WorkerPlacement p in cp.Placements)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  worker {p.Worker,3}: cpu {p.Cpu,3}, node {p.NumaNode}, {(p.Pinned ? "pinned" : "not pinned: " + p.PinError)}, {cp.SpheresOf(p.Worker).Length} sphere(s)"));

        var load = new SyntheticWork(cp.SphereCount, depth, work, skew);
        cp.RunEpoch(load); // warm-up
        cp.Statistics.Reset();
        long t0 = Stopwatch.GetTimestamp();
        for (int e = 0; e < epochs; e++) cp.RunEpoch(load);
        double perEpoch = Stopwatch.GetElapsedTime(t0).TotalMilliseconds / epochs;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{epochs} epoch(s): {perEpoch:0.000} ms per epoch{(skew ? " (skewed: groups 0, 2, 4 ten times heavier)" : "")}"));
        Console.Write(cp.Statistics.ToTable(maxSphereRows: 12));
        return 0;
    }

    private sealed class SyntheticWork(int spheres, int depth, int iterations, bool skew) : ISphereWork
    {
        private readonly int _perGroup = spheres / (depth == 0 ? 1 : 12) is var p && p > 0 ? p : 1;
        private long _sink;

        public void ExecuteSphere(int sphereIndex, int workerIndex)
        {
            int group = sphereIndex / _perGroup;
            int n = skew && group is 0 or 2 or 4 ? iterations * 10 : iterations;
            ulong x = (ulong)sphereIndex + 1;
            for (int i = 0; i < n; i++) { x ^= x << 13; x ^= x >> 7; x ^= x << 17; }
            Interlocked.Add(ref _sink, (long)(x & 1));
        }
    }
}
