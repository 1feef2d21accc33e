using System.Diagnostics;
using System.Globalization;
using Crystalline.Hpc.Scheduling;

namespace Crystalline.Hpc.Benchmarks.Scheduling;

/// <summary>
/// <c>dotnet run -c Release --project bench/Crystalline.Hpc.Benchmarks -- scheduler [workers] [rounds] [--latency-only]</c>:
/// interleaved side-by-side timings (the machine is shared, so each round measures every variant back to
/// back and the report gives medians and ratios), plus the statistics table of a skewed run.
/// </summary>
internal static class SchedulerHarness
{
    public static int Run(string[] args)
    {
        int workers = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : Environment.ProcessorCount;
        int rounds = args.Length > 1 && args[1] != "--latency-only" ? int.Parse(args[1], CultureInfo.InvariantCulture) : 15;
        Console.WriteLine($"workers={workers} rounds={rounds} cpus={Environment.ProcessorCount}");

        // Skewed load: makespan per epoch, stealing on vs off, interleaved.
        foreach (int depth in args.Contains("--latency-only") ? Array.Empty<int>() : new[] { 1, 2 })
        {
            using var on = new ControlProcess(new ControlProcessOptions { WorkerCount = workers, HierarchyDepth = depth, EnableWorkStealing = true, CollectTimings = true });
            using var off = new ControlProcess(new ControlProcessOptions { WorkerCount = workers, HierarchyDepth = depth, EnableWorkStealing = false });
            var work = new SkewedLoadBenchmarks.SkewedWork(depth);
            var seq = new SequentialExecutor(depth);
            var tOn = new List<double>();
            var tOff = new List<double>();
            var tSeq = new List<double>();
            on.Statistics.Reset();
            for (int r = 0; r < rounds; r++)
            {
                tOff.Add(Time(() => off.RunEpoch(work), 5));
                tOn.Add(Time(() => on.RunEpoch(work), 5));
                tSeq.Add(Time(() => seq.RunEpoch(work), 5));
            }
            double mOn = Median(tOn), mOff = Median(tOff), mSeq = Median(tSeq);
            Console.WriteLine($"skewed depth {depth}: stealing off {mOff * 1e3:0.000} ms, on {mOn * 1e3:0.000} ms, one thread {mSeq * 1e3:0.000} ms per epoch (medians of {rounds}); on/off = {mOn / mOff:0.000} ({(1 - mOn / mOff) * 100:0.0}% shorter makespan); ideal for this skew on 2 workers: 19.5/33 = 0.591");
            Console.WriteLine(on.Statistics.ToTable(maxSphereRows: 0));
        }

        // Skew with waiting work: balance independent of the CPU share the machine gives us.
        if (!args.Contains("--latency-only"))
        {
            using var on = new ControlProcess(new ControlProcessOptions { WorkerCount = 2, HierarchyDepth = 1, EnableWorkStealing = true });
            using var off = new ControlProcess(new ControlProcessOptions { WorkerCount = 2, HierarchyDepth = 1, EnableWorkStealing = false });
            var work = new SkewedWaitBenchmarks.WaitingWork();
            var tOn = new List<double>();
            var tOff = new List<double>();
            for (int r = 0; r < Math.Min(rounds, 9); r++)
            {
                tOff.Add(Time(() => off.RunEpoch(work), 1));
                tOn.Add(Time(() => on.RunEpoch(work), 1));
            }
            double mOn = Median(tOn), mOff = Median(tOff);
            Console.WriteLine($"waiting skew, 2 workers: stealing off {mOff * 1e3:0.0} ms, on {mOn * 1e3:0.0} ms (model: 66 vs 40); on/off = {mOn / mOff:0.000} ({(1 - mOn / mOff) * 100:0.0}% shorter makespan)");
        }

        // Epoch latency, trivial work: the default options (no per-item timings), the profiling switch
        // CollectTimings on, one worker (no cross-core traffic: the floor of the bookkeeping), and the
        // .NET baselines, interleaved round by round. Each control process lives only for its own
        // measurement: on 2 cores the pinned workers of another one would compete with it.
        {
            var slots = new long[12 * 8];
            var trivial = new Trivial(slots);
            Action<int> body = i => slots[i * 8]++;
            var tasks = new Task[12];
            var tEpoch = new List<double>();
            var tFor = new List<double>();
            var tTasks = new List<double>();
            var tTimed = new List<double>();
            var tOne = new List<double>();
            long ownItems = 0, allItems = 0;
            double TimeEpochs(ControlProcessOptions o, bool count = false)
            {
                using var cp = new ControlProcess(o);
                double t = Time(() => cp.RunEpoch(trivial), 20000);
                if (count)
                {
                    ownItems += cp.Statistics.Worker(0).WorkItems;
                    for (int w = 0; w < cp.WorkerCount; w++) allItems += cp.Statistics.Worker(w).WorkItems;
                }
                return t;
            }
            var roundTrips = new List<double>();
            for (int r = 0; r < rounds; r++)
            {
                roundTrips.Add(CacheLineRoundTripNs());
                tFor.Add(Time(() => Parallel.For(0, 12, body), 20000));
                tEpoch.Add(TimeEpochs(new ControlProcessOptions { WorkerCount = workers, HierarchyDepth = 1 }, count: true));
                tTimed.Add(TimeEpochs(new ControlProcessOptions { WorkerCount = workers, HierarchyDepth = 1, CollectTimings = true }));
                tOne.Add(TimeEpochs(new ControlProcessOptions { WorkerCount = 1, HierarchyDepth = 1 }));
                tTasks.Add(Time(() =>
                {
                    for (int i = 0; i < 12; i++) { int s = i; tasks[i] = Task.Run(() => slots[s * 8]++); }
                    Task.WaitAll(tasks);
                }, 2000));
            }
            double e = Median(tEpoch), f = Median(tFor), t = Median(tTasks), tm = Median(tTimed), o = Median(tOne);
            Console.WriteLine($"epoch latency (12 trivial spheres, {workers} workers, medians of {rounds} rounds): RunEpoch {e * 1e6:0.00} µs, Parallel.For {f * 1e6:0.00} µs, Task.WhenAll {t * 1e6:0.00} µs; Parallel.For/RunEpoch = {f / e:0.0}x, Tasks/RunEpoch = {t / e:0.0}x");
            Console.WriteLine($"  RunEpoch: worker 0 (the caller) ran {100.0 * ownItems / allItems:0}% of the items; range over rounds {tEpoch.Min() * 1e6:0.00}–{tEpoch.Max() * 1e6:0.00} µs");
            Console.WriteLine($"  cache-line round trip between the first two CPUs, per round: median {Median(roundTrips):0} ns, range {roundTrips.Min():0}–{roundTrips.Max():0} ns (an epoch needs about 1.5 of them)");
            Console.WriteLine($"  with CollectTimings = true: RunEpoch {tm * 1e6:0.00} µs (Parallel.For/RunEpoch = {f / tm:0.0}x); 1 worker: RunEpoch {o * 1e6:0.00} µs");
        }
        return 0;
    }

    /// <summary><c>epoch-probe</c>: one control process, 2 workers, 12 trivial spheres: latency per epoch in
    /// blocks of 100 k epochs, with the CPUs the caller ran on and worker 0's share of the items.</summary>
    public static int Probe(string[] args)
    {
        using var cp = new ControlProcess(new ControlProcessOptions { WorkerCount = 2, HierarchyDepth = 1, EnableWorkStealing = !args.Contains("--no-steal") });
        var trivial = new Trivial(new long[96]);
        for (int block = 0; block < 5; block++)
        {
            cp.Statistics.Reset();
            var cpus = new HashSet<int>();
            long t0 = Stopwatch.GetTimestamp();
            for (int i = 0; i < 100_000; i++)
            {
                cp.RunEpoch(trivial);
                if ((i & 1023) == 0) cpus.Add(Thread.GetCurrentProcessorId());
            }
            double ns = Stopwatch.GetElapsedTime(t0).TotalMilliseconds * 1e6 / 100_000;
            Console.Write($"cache-line round trip cpu0<->cpu1 {CacheLineRoundTripNs():0} ns; ");
            var w0 = cp.Statistics.Worker(0); var w1 = cp.Statistics.Worker(1);
            Console.WriteLine($"block {block}: {ns:0} ns/epoch, caller on cpu(s) {string.Join(",", cpus)}, worker 0 ran {100.0 * w0.WorkItems / (w0.WorkItems + w1.WorkItems):0}% (steals taken by 0: {w0.StealsTaken}, by 1: {w1.StealsTaken}); worker 1 placement: {cp.Placements[1].Cpu} pinned={cp.Placements[1].Pinned}");
        }
        return 0;
    }

    /// <summary>
    /// Median round trip of one cache line between two threads pinned to the first two CPUs (ns): the
    /// floor under a fork-join, which needs about one and a half of them. On this VM it swings between
    /// ~65 and ~960 ns within seconds (the host moves the virtual CPUs), so epoch latencies are printed
    /// with the round trip measured just before.
    /// </summary>
    public static unsafe double CacheLineRoundTripNs(int trips = 20_000)
    {
        int[] cpus = Crystalline.Hpc.Platform.PlatformServices.Current.GetCurrentAffinity();
        if (cpus.Length < 2) return double.NaN;
        long* line = (long*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc(192, 64);
        try
        {
            line[0] = 0; line[8] = 0;
            double result = 0;
            var echo = new Thread(() =>
            {
                Crystalline.Hpc.Platform.PlatformServices.Current.TryPinCurrentThread(cpus[1], out _);
                for (long v = 1; v <= trips; v++)
                {
                    while (Volatile.Read(ref line[0]) != v) { }
                    Volatile.Write(ref line[8], v);
                }
            });
            var ping = new Thread(() =>
            {
                Crystalline.Hpc.Platform.PlatformServices.Current.TryPinCurrentThread(cpus[0], out _);
                long t0 = Stopwatch.GetTimestamp();
                for (long v = 1; v <= trips; v++)
                {
                    Volatile.Write(ref line[0], v);
                    while (Volatile.Read(ref line[8]) != v) { }
                }
                result = Stopwatch.GetElapsedTime(t0).TotalMilliseconds * 1e6 / trips;
            });
            echo.Start();
            ping.Start();
            ping.Join();
            echo.Join();
            return result;
        }
        finally
        {
            System.Runtime.InteropServices.NativeMemory.AlignedFree(line);
        }
    }

    private sealed class Trivial(long[] slots) : ISphereWork
    {
        public void ExecuteSphere(int sphereIndex, int workerIndex) => slots[sphereIndex * 8]++;
    }

    private static double Time(Action a, int reps)
    {
        // Let the previous variant's idle threads (control-process workers spin ~0.6 ms before they block,
        // thread-pool workers a little) go to sleep first: on 2 cores a spinning leftover of one variant
        // would otherwise take the core another variant's worker needs.
        Thread.Sleep(5);
        a();
        long t0 = Stopwatch.GetTimestamp();
        for (int i = 0; i < reps; i++) a();
        return Stopwatch.GetElapsedTime(t0).TotalSeconds / reps;
    }

    private static double Median(List<double> xs)
    {
        var s = xs.OrderBy(x => x).ToArray();
        return s[s.Length / 2];
    }
}
