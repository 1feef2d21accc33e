namespace Crystalline.Hpc.Scheduling;

/// <summary>
/// Spin-then-block wake-up for one waiter and wakers that call <see cref="Wake"/> only after making the
/// waiter's condition true. The waiter announces it is about to sleep (full fence), re-checks its
/// condition, then blocks; a waker releases the semaphore only if it claimed the announcement. Either
/// the waiter sees the condition or the waker sees the announcement (Dekker), so no wake-up is lost,
/// and every release is consumed by the waiter it was meant for, so none is left over.
/// Allocation-free after construction (SemaphoreSlim's synchronous Wait/Release do not allocate).
/// </summary>
internal sealed class WakeSignal : IDisposable
{
    private readonly SemaphoreSlim _semaphore = new(0, 1);
    private int _sleeping;

    /// <summary>Waiter: announce the intent to sleep. Re-check the condition after this.</summary>
    public void PrepareToSleep() => Interlocked.Exchange(ref _sleeping, 1);

    /// <summary>Waiter: the condition became true after <see cref="PrepareToSleep"/>; withdraw.</summary>
    public void Cancel()
    {
        // A waker already claimed the announcement and is about to release: take that release so it
        // does not wake a later, unrelated sleep early.
        if (Interlocked.Exchange(ref _sleeping, 0) == 0) _semaphore.Wait();
    }

    /// <summary>Waiter: block until a waker releases.</summary>
    public void Sleep() => _semaphore.Wait();

    /// <summary>Waker: call after making the waiter's condition true.</summary>
    public void Wake()
    {
        if (Volatile.Read(ref _sleeping) == 1 && Interlocked.Exchange(ref _sleeping, 0) == 1) _semaphore.Release();
    }

    public void Dispose() => _semaphore.Dispose();
}
