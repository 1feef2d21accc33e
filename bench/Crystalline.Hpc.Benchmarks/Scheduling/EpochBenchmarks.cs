using BenchmarkDotNet.Attributes;
using Crystalline.Hpc.Scheduling;

namespace Crystalline.Hpc.Benchmarks.Scheduling;

/// <summary>
/// Fork-join latency of one epoch over the 12 spheres with trivial work, side by side with
/// Parallel.For(0, 12) and Task.WhenAll of 12 tasks. Workers = logical CPUs.
/// </summary>
[MemoryDiagnoser]
public class EpochBenchmarks
{
    private sealed class TrivialWork : ISphereWork
    {
        public readonly long[] Slots = new long[12 * 8]; // one cache line per sphere
        public void ExecuteSphere(int sphereIndex, int workerIndex) => Slots[sphereIndex * 8]++;
    }

    private ControlProcess _cp = null!;
    private readonly TrivialWork _work = new();
    private readonly Action<int> _body;
    private readonly Task[] _tasks = new Task[12];
    private readonly long[] _slots = new long[12 * 8];

    public EpochBenchmarks() => _body = i => _slots[i * 8]++;

    [GlobalSetup]
    public void Setup() => _cp = new ControlProcess(new ControlProcessOptions { WorkerCount = Environment.ProcessorCount, HierarchyDepth = 1 });

    [GlobalCleanup]
    public void Cleanup() => _cp.Dispose();

    [Benchmark(Baseline = true, Description = "Parallel.For(0,12)")]
    public void ParallelFor() => Parallel.For(0, 12, _body);

    [Benchmark(Description = "ControlProcess.RunEpoch (12 spheres)")]
    public void Epoch() => _cp.RunEpoch(_work);

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
