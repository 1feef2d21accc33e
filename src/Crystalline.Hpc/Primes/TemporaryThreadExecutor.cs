using System.Runtime.ExceptionServices;
using Crystalline.Hpc.Scheduling;

namespace Crystalline.Hpc.Primes;

/// <summary>
/// Stand-in for the scheduler's ControlProcess until it lands: N dedicated (unpinned) threads that
/// claim spheres/items from a shared counter. Same contract as <see cref="ISphereExecutor"/>; one
/// epoch at a time (callers serialize). To be replaced by ControlProcess at merge.
/// </summary>
internal sealed class TemporaryThreadExecutor : ISphereExecutor, IDisposable
{
    private readonly Thread[] _threads;
    private readonly SemaphoreSlim _start = new(0);
    private readonly CountdownEvent _done;
    private readonly object _gate = new();
    private ISphereWork? _sphereWork;
    private IParallelWork? _parallelWork;
    private int _itemCount;
    private int _nextItem;
    private ExceptionDispatchInfo? _error;
    private volatile bool _stopping;

    /// <param name="threads">Worker threads, ≥ 1.</param>
    /// <param name="hierarchyDepth">Leaf spheres = 12^depth (1 … 4).</param>
    public TemporaryThreadExecutor(int threads, int hierarchyDepth = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(hierarchyDepth, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(hierarchyDepth, 4);
        int count = 1;
        for (int d = 0; d < hierarchyDepth; d++) count *= 12;
        SphereCount = count;
        _done = new CountdownEvent(threads);
        _threads = new Thread[threads];
        for (int t = 0; t < threads; t++)
        {
            int index = t;
            _threads[t] = new Thread(() => WorkerLoop(index)) { IsBackground = true, Name = $"abacus-worker-{t}" };
            _threads[t].Start();
        }
    }

    public int WorkerCount => _threads.Length;

    public int SphereCount { get; }

    public void RunEpoch(ISphereWork work)
    {
        ArgumentNullException.ThrowIfNull(work);
        lock (_gate)
        {
            _sphereWork = work;
            _parallelWork = null;
            Run(SphereCount);
        }
    }

    public void RunParallel(IParallelWork work, int itemCount)
    {
        ArgumentNullException.ThrowIfNull(work);
        ArgumentOutOfRangeException.ThrowIfNegative(itemCount);
        lock (_gate)
        {
            _sphereWork = null;
            _parallelWork = work;
            Run(itemCount);
        }
    }

    private void Run(int itemCount)
    {
        ObjectDisposedException.ThrowIf(_stopping, this);
        _itemCount = itemCount;
        _nextItem = 0;
        _error = null;
        _done.Reset();
        _start.Release(_threads.Length);
        _done.Wait();
        _sphereWork = null;
        _parallelWork = null;
        _error?.Throw();
    }

    private void WorkerLoop(int worker)
    {
        while (true)
        {
            _start.Wait();
            if (_stopping) return;
            try
            {
                while (true)
                {
                    int item = Interlocked.Increment(ref _nextItem) - 1;
                    if (item >= _itemCount) break;
                    if (_sphereWork is { } s) s.ExecuteSphere(item, worker);
                    else _parallelWork!.ExecuteItem(item, worker);
                }
            }
#pragma warning disable CA1031 // an exception from any item is rethrown on the calling thread
            catch (Exception e)
#pragma warning restore CA1031
            {
                Interlocked.CompareExchange(ref _error, ExceptionDispatchInfo.Capture(e), null);
                // Stop handing out further items; the epoch drains and the caller rethrows.
                Interlocked.Exchange(ref _nextItem, int.MaxValue / 2);
            }
            _done.Signal();
        }
    }

    public void Dispose()
    {
        if (_stopping) return;
        _stopping = true;
        _start.Release(_threads.Length);
        foreach (var t in _threads) t.Join();
        _start.Dispose();
        _done.Dispose();
    }
}
