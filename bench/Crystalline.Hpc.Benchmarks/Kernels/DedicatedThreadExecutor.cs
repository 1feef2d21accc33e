using Crystalline.Hpc.Scheduling;

namespace Crystalline.Hpc.Benchmarks.Kernels;

/// <summary>
/// A bench-only <see cref="ISphereExecutor"/> on dedicated threads: the caller is worker 0, workers
/// 1 … W−1 wait on a generation counter (spin, then block). Item i runs on worker i mod W. Stands in
/// for the scheduler's control process until that lands.
/// </summary>
internal sealed class DedicatedThreadExecutor : ISphereExecutor, IDisposable
{
    private readonly Thread[] _threads;
    private readonly SemaphoreSlim[] _go;
    private readonly CountdownEvent _done;
    private IParallelWork? _work;
    private int _itemCount;
    private volatile bool _stop;
    private Exception? _error;

    private readonly bool _pin;

    /// <param name="workers">Worker count, the caller included.</param>
    /// <param name="pin">Pin worker w to logical CPU w (w mod CPU count) through the platform layer.</param>
    public DedicatedThreadExecutor(int workers, bool pin = false)
    {
        _pin = pin;
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        WorkerCount = workers;
        _threads = new Thread[workers - 1];
        _go = new SemaphoreSlim[workers - 1];
        _done = new CountdownEvent(1);
        for (int i = 0; i < _threads.Length; i++)
        {
            int w = i + 1;
            _go[i] = new SemaphoreSlim(0);
            _threads[i] = new Thread(() => Loop(w)) { IsBackground = true, Name = $"bench-worker-{w}" };
            _threads[i].Start();
        }
    }

    public int WorkerCount { get; }
    public int SphereCount => 12;

    public void RunEpoch(ISphereWork work)
    {
        for (int s = 0; s < SphereCount; s++) work.ExecuteSphere(s, 0);
    }

    public void RunParallel(IParallelWork work, int itemCount)
    {
        _work = work;
        _itemCount = itemCount;
        _error = null;
        _done.Reset(WorkerCount - 1 == 0 ? 1 : WorkerCount - 1);
        foreach (var g in _go) g.Release();
        RunItems(0);
        if (WorkerCount > 1) _done.Wait(); else _done.Signal();
        _work = null;
        if (_error is not null) throw new AggregateException(_error);
    }

    private void RunItems(int worker)
    {
        for (int i = worker; i < _itemCount; i += WorkerCount) _work!.ExecuteItem(i, worker);
    }

    private void Loop(int worker)
    {
        if (_pin) Crystalline.Hpc.Platform.PlatformServices.Current.TryPinCurrentThread(worker % Environment.ProcessorCount, out _);
        while (true)
        {
            _go[worker - 1].Wait();
            if (_stop) return;
            try { RunItems(worker); }
            catch (Exception e) { _error = e; }
            _done.Signal();
        }
    }

    public void Dispose()
    {
        _stop = true;
        foreach (var g in _go) g.Release();
        foreach (var t in _threads) t.Join();
        foreach (var g in _go) g.Dispose();
        _done.Dispose();
    }
}
