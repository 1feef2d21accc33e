using BenchmarkDotNet.Attributes;
using Crystalline.Hpc.Scheduling;

namespace Crystalline.Hpc.Benchmarks.Scheduling;

/// <summary>
/// Fork-join latency of one epoch over the 12 spheres with trivial work, side by side with
/// Parallel.For(0, 12) and Task.WhenAll of 12 tasks, and with the profiling switch CollectTimings on.
/// Workers = logical CPUs.
/// </summary>
[MemoryDiagnoser]
public class EpochBenchmarks
{
    private sealed class TrivialWork : ISphereWork
    {
        public readonly long[] Slots = new long[12 * 8]; // one cache line per sphere
        public void ExecuteSphere(int sphereIndex, int workerIndex) => Slots[sphereIndex * 8]++;
    }

    private ControlProcess? _cp;
    private ControlProcess? _timed;
    private readonly TrivialWork _work = new();
    private readonly Action<int> _body;
    private readonly Task[] _tasks = new Task[12];
    private readonly long[] _slots = new long[12 * 8];

    public EpochBenchmarks() => _body = i => _slots[i * 8]++;

    // One control process per benchmark (BenchmarkDotNet runs each in its own process): a second one's
    // pinned workers would only compete for this 2-core machine.
    [GlobalSetup(Target = nameof(Epoch))]
    public void SetupEpoch() => _cp = new ControlProcess(new ControlProcessOptions { WorkerCount = Environment.ProcessorCount, HierarchyDepth = 1 });

    [GlobalSetup(Target = nameof(EpochTimed))]
    public void SetupTimed() => _timed = new ControlProcess(new ControlProcessOptions { WorkerCount = Environment.ProcessorCount, HierarchyDepth = 1, CollectTimings = true });

    [GlobalCleanup]
    public void Cleanup()
    {
        _cp?.Dispose();
        _timed?.Dispose();
    }

    [Benchmark(Baseline = true, Description = "Parallel.For(0,12)")]
    public void ParallelFor() => Parallel.For(0, 12, _body);

    [Benchmark(Description = "ControlProcess.RunEpoch (12 spheres)")]
    public void Epoch() => _cp!.RunEpoch(_work);

    [Benchmark(Description = "RunEpoch, CollectTimings on (12 spheres)")]
    public void EpochTimed() => _timed!.RunEpoch(_work);

    [Benchmark(Description = "Task.WhenAll(12 x Task.Run)")]
    public void WhenAll()
    {
        for (int i = 0; i < 12; i++)
        {
            int s = i;
            _tasks[i] = Task.Run(() => _slots[s * 8]++);
        }
        Task.WhenAll(_tasks).GetAwaiter().GetResult();
    }
}
