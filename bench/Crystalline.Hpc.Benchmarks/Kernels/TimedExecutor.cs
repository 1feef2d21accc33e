using Crystalline.Hpc.Platform;
using Crystalline.Hpc.Scheduling;

namespace Crystalline.Hpc.Benchmarks.Kernels;

/// <summary>
/// Wraps an executor and measures, per RunParallel call, the thread CPU time each worker spent in
/// items. <see cref="CriticalPathCpuSeconds"/> sums the slowest worker of each call: the parallel part's
/// duration had the workers had their cores to themselves (the shared machine's other processes
/// preempt them, which wall time would count).
/// </summary>
internal sealed class TimedExecutor(ISphereExecutor inner) : ISphereExecutor, IParallelWork
{
    private readonly double[] _cpu = new double[inner.WorkerCount];
    private IParallelWork? _work;

    public ISphereExecutor Inner => inner;
    public int WorkerCount => inner.WorkerCount;
    public int SphereCount => inner.SphereCount;
    public double CriticalPathCpuSeconds { get; set; }

    /// <summary>
    /// CPU time the calling thread itself spent in items (executors whose caller acts as worker 0):
    /// subtract it from the caller's own CPU time before adding <see cref="CriticalPathCpuSeconds"/>.
    /// </summary>
    public double CallerItemCpuSeconds { get; set; }

    private int _callerThread;

    public void RunEpoch(ISphereWork work) => inner.RunEpoch(work);

    public void RunParallel(IParallelWork work, int itemCount)
    {
        Array.Clear(_cpu);
        _work = work;
        _callerThread = Environment.CurrentManagedThreadId;
        try { inner.RunParallel(this, itemCount); }
        finally { _work = null; }
        double max = 0;
        foreach (double c in _cpu) max = Math.Max(max, c);
        CriticalPathCpuSeconds += max;
    }

    void IParallelWork.ExecuteItem(int itemIndex, int workerIndex)
    {
        double c0 = ThreadClock.Now();
        _work!.ExecuteItem(itemIndex, workerIndex);
        double spent = ThreadClock.Now() - c0;
        _cpu[workerIndex] += spent; // only this worker's thread writes this slot
        if (Environment.CurrentManagedThreadId == _callerThread) CallerItemCpuSeconds += spent;
    }
}
