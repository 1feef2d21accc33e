using BenchmarkDotNet.Attributes;
using Crystalline.Hpc.Scheduling;

namespace Crystalline.Hpc.Benchmarks.Scheduling;

/// <summary>
/// Makespan of an epoch whose load is skewed: the leaves of groups 0, 2 and 4 (all dealt to worker 0
/// when there are 2 workers) are ten times heavier than the others. Stealing on vs off, same deal.
/// </summary>
[MemoryDiagnoser]
public class SkewedLoadBenchmarks
{
    internal sealed class SkewedWork(int depth) : ISphereWork
    {
        private readonly int _perGroup = ControlProcess.Pow12(depth - 1);
        public long Sink;

        public void ExecuteSphere(int sphereIndex, int workerIndex)
        {
            int group = sphereIndex / _perGroup;
            int iterations = (group is 0 or 2 or 4 ? 10 : 1) * LightIterations / _perGroup;
            ulong x = (ulong)sphereIndex + 1;
            for (int i = 0; i < iterations; i++) { x ^= x << 13; x ^= x >> 7; x ^= x << 17; }
            Interlocked.Add(ref Sink, (long)(x & 1));
        }
    }

    /// <summary>Work of one light top-level sphere (xorshift rounds): about 50 µs.</summary>
    public const int LightIterations = 40_000;

    [Params(1, 2)]
    public int Depth { get; set; }

    private ControlProcess _on = null!, _off = null!;
    private SkewedWork _work = null!;

    [GlobalSetup]
    public void Setup()
    {
        int n = Environment.ProcessorCount;
        _on = new ControlProcess(new ControlProcessOptions { WorkerCount = n, HierarchyDepth = Depth, EnableWorkStealing = true });
        _off = new ControlProcess(new ControlProcessOptions { WorkerCount = n, HierarchyDepth = Depth, EnableWorkStealing = false });
        _work = new SkewedWork(Depth);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _on.Dispose();
        _off.Dispose();
    }

    [Benchmark(Baseline = true, Description = "skewed epoch, stealing off")]
    public void StealingOff() => _off.RunEpoch(_work);

    [Benchmark(Description = "skewed epoch, stealing on")]
    public void StealingOn() => _on.RunEpoch(_work);
}

/// <summary>
/// The same skew with work that waits instead of computing (heavy sphere 20 ms, light 2 ms of
/// Thread.Sleep): the makespan then depends on how the scheduler balances, not on how much CPU a
/// shared machine happens to give the workers. Stealing off: worker 0 carries 3 × 20 + 3 × 2 = 66 ms;
/// the balanced optimum on 2 workers is 40 ms.
/// </summary>
[MemoryDiagnoser]
public class SkewedWaitBenchmarks
{
    internal sealed class WaitingWork : ISphereWork
    {
        public void ExecuteSphere(int sphereIndex, int workerIndex) => Thread.Sleep(sphereIndex is 0 or 2 or 4 ? 20 : 2);
    }

    private ControlProcess _on = null!, _off = null!;
    private readonly WaitingWork _work = new();

    [GlobalSetup]
    public void Setup()
    {
        _on = new ControlProcess(new ControlProcessOptions { WorkerCount = 2, HierarchyDepth = 1, EnableWorkStealing = true });
        _off = new ControlProcess(new ControlProcessOptions { WorkerCount = 2, HierarchyDepth = 1, EnableWorkStealing = false });
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _on.Dispose();
        _off.Dispose();
    }

    [Benchmark(Baseline = true, Description = "waiting skew, 2 workers, stealing off")]
    public void StealingOff() => _off.RunEpoch(_work);

    [Benchmark(Description = "waiting skew, 2 workers, stealing on")]
    public void StealingOn() => _on.RunEpoch(_work);
}
