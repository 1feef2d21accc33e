using System.Diagnostics;
using System.Globalization;
using Crystalline.Hpc.Scheduling;

namespace Crystalline.Cli.Commands;

/// <summary>
/// <c>crystalline scheduler</c>: starts a control process, runs epochs of a synthetic workload (optionally
/// skewed: groups 0, 2, 4 ten times heavier) and prints worker placement (pinned or why not), the
/// time per epoch and the per-worker/per-sphere statistics table. With <c>--spawn-heavy</c> the heavy
/// spheres ask, from inside the first epoch, to spawn 12 children each (recursive spawning on demand);
/// a sphere's work is split evenly among its children, so the next epochs run the reshaped tree.
/// </summary>
internal static class SchedulerCommand
{
    public static int Run(string[] args)
    {
        var a = new CliArgs(args, ["--no-steal", "--skew", "--spawn-heavy"], ["--threads", "--depth", "--epochs", "--work"]);
        if (a.Positional.Count > 0) throw new CliUsageException($"unexpected argument '{a.Positional[0]}'");
        int threads = a.GetInt("--threads", Environment.ProcessorCount, 1, 4096);
        int depth = a.GetInt("--depth", 1, 0, 4);
        int epochs = a.GetInt("--epochs", 100, 1, 10_000_000);
        int work = a.GetInt("--work", 20_000, 0, 100_000_000);
        bool steal = !a.GetFlag("--no-steal");
        bool skew = a.GetFlag("--skew");
        bool spawnHeavy = a.GetFlag("--spawn-heavy");
        if (spawnHeavy && depth > 3) throw new CliUsageException("--spawn-heavy needs --depth 3 or less (spawning adds a level; the limit is 4)");

        using var cp = new ControlProcess(new ControlProcessOptions { WorkerCount = threads, HierarchyDepth = depth, EnableWorkStealing = steal, CollectTimings = true });
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"control process: {cp.WorkerCount} worker(s), depth {depth} ({cp.SphereCount} leaf spheres), stealing {(steal ? "on" : "off")}, hierarchy {cp.Hierarchy.Describe()}"));
        foreach (WorkerPlacement p in cp.Placements)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  worker {p.Worker,3}: cpu {p.Cpu,3}, node {p.NumaNode}, {(p.Pinned ? "pinned" : "not pinned: " + p.PinError)}, {cp.SpheresOf(p.Worker).Length} sphere(s)"));

        var load = new SyntheticWork(cp, work, skew, spawnHeavy);
        cp.RunEpoch(load); // warm-up (and, with --spawn-heavy, the epoch whose heavy spheres ask to spawn)
        if (spawnHeavy)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"after the first epoch: {cp.SphereCount} leaf spheres (shape version {cp.ShapeVersion}), hierarchy {cp.Hierarchy.Describe()}{(cp.LastShapeRefusal is { } why ? "; refused: " + why : "")}"));
            load.StopAsking();
            cp.RunEpoch(load); // the new leaves' first epoch
        }
        cp.Statistics.Reset();
        long t0 = Stopwatch.GetTimestamp();
        for (int e = 0; e < epochs; e++) cp.RunEpoch(load);
        double perEpoch = Stopwatch.GetElapsedTime(t0).TotalMilliseconds / epochs;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{epochs} epoch(s): {perEpoch:0.000} ms per epoch{(skew ? " (skewed: groups 0, 2, 4 ten times heavier)" : "")}"));
        Console.Write(cp.Statistics.ToTable(maxSphereRows: 12));
        return 0;
    }

    // Each top-level group carries `iterations` × 12^(depth−1) units of work (ten times that for groups
    // 0, 2, 4 with --skew), split evenly over its leaves, whatever the tree's shape.
    private sealed class SyntheticWork(ControlProcess cp, int iterations, bool skew, bool spawnHeavy) : ISphereWork
    {
        private readonly double _groupWork = iterations * Math.Pow(12, Math.Max(0, cp.HierarchyDepth - 1));
        private bool _spawnAsked;
        private long _sink;

        public void ExecuteSphere(int sphereIndex, int workerIndex)
        {
            SphereNode node = cp.Hierarchy.Leaves[sphereIndex];
            int level = node.Level;
            while (node.Level > 1) node = node.Parent!;
            bool heavy = skew && node.Level == 1 && node.Group is 0 or 2 or 4;
            int n = (int)((heavy ? 10 : 1) * _groupWork / Math.Pow(12, Math.Max(0, level - 1)));
            if (spawnHeavy && heavy && !Volatile.Read(ref _spawnAsked)) cp.RequestSpawn(sphereIndex);
            ulong x = (ulong)sphereIndex + 1;
            for (int i = 0; i < n; i++) { x ^= x << 13; x ^= x >> 7; x ^= x << 17; }
            Interlocked.Add(ref _sink, (long)(x & 1));
        }

        // Only the first epoch asks (every heavy leaf of it); set by the control thread between epochs.
        public void StopAsking() => _spawnAsked = true;
    }
}
