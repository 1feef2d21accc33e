namespace Crystalline.Hpc.Scheduling;

/// <summary>Work run once per leaf sphere in an epoch. One instance is reused across epochs (no allocation).</summary>
public interface ISphereWork
{
    /// <summary>Runs sphere <paramref name="sphereIndex"/> (0 … SphereCount−1) on worker <paramref name="workerIndex"/>.</summary>
    void ExecuteSphere(int sphereIndex, int workerIndex);
}

/// <summary>Work split into independent items (e.g. slices of a parameter vector).</summary>
public interface IParallelWork
{
    /// <summary>Runs item <paramref name="itemIndex"/> on worker <paramref name="workerIndex"/>.</summary>
    void ExecuteItem(int itemIndex, int workerIndex);
}

/// <summary>
/// What workloads (training, the prime abacus, parallel kernels) need from the scheduler: run every
/// leaf sphere once per epoch, or run a set of independent items, and return when all are done.
/// Implemented by the control process; <see cref="SequentialExecutor"/> is the one-thread reference.
/// </summary>
public interface ISphereExecutor
{
    /// <summary>Physical worker threads (1 for the sequential executor).</summary>
    int WorkerCount { get; }

    /// <summary>Leaf spheres per epoch: 12^depth.</summary>
    int SphereCount { get; }

    /// <summary>Runs <see cref="ISphereWork.ExecuteSphere"/> for every leaf sphere exactly once; returns when all finished.
    /// An exception from any sphere is rethrown here after the epoch drains.</summary>
    void RunEpoch(ISphereWork work);

    /// <summary>Runs <see cref="IParallelWork.ExecuteItem"/> for items 0 … itemCount−1 exactly once each; returns when all finished.</summary>
    void RunParallel(IParallelWork work, int itemCount);

    /// <summary>
    /// Runs <see cref="IParallelWork.ExecuteItem"/>(w, w) once on each worker w, on that worker's own thread,
    /// to size per-thread state (scratch buffers, first touch) before the steady state. The default,
    /// right for executors that run everything on the calling thread, runs item 0 there.
    /// </summary>
    void RunOnEachWorker(IParallelWork work)
    {
        ArgumentNullException.ThrowIfNull(work);
        work.ExecuteItem(0, 0);
    }
}

/// <summary>Runs everything on the calling thread, in index order: the reference executor.</summary>
public sealed class SequentialExecutor : ISphereExecutor
{
    /// <summary>An executor for 12^<paramref name="hierarchyDepth"/> leaf spheres.</summary>
    /// <exception cref="ArgumentOutOfRangeException">depth outside 0 … 4.</exception>
    public SequentialExecutor(int hierarchyDepth = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(hierarchyDepth);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(hierarchyDepth, 4);
        int count = 1;
        for (int d = 0; d < hierarchyDepth; d++) count *= 12;
        SphereCount = count;
    }

    /// <inheritdoc/>
    public int WorkerCount => 1;

    /// <inheritdoc/>
    public int SphereCount { get; }

    /// <inheritdoc/>
    public void RunEpoch(ISphereWork work)
    {
        ArgumentNullException.ThrowIfNull(work);
        for (int s = 0; s < SphereCount; s++) work.ExecuteSphere(s, 0);
    }

    /// <inheritdoc/>
    public void RunParallel(IParallelWork work, int itemCount)
    {
        ArgumentNullException.ThrowIfNull(work);
        ArgumentOutOfRangeException.ThrowIfNegative(itemCount);
        for (int i = 0; i < itemCount; i++) work.ExecuteItem(i, 0);
    }
}
