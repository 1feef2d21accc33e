namespace Crystalline.Hpc.Scheduling;

/// <summary>A condition a <see cref="WakeSignal{THook, TBlocker}"/> waiter sleeps until (read with acquire semantics).</summary>
internal interface IWakeCondition
{
    bool IsMet();
}

/// <summary>What a waiter blocks on: a counting semaphore of at most one permit.</summary>
internal interface IBlocker : IDisposable
{
    /// <summary>Blocks until a permit is available and takes it.</summary>
    void Wait();

    /// <summary>Adds the permit; a second one before it was taken is a protocol error.</summary>
    void Release();
}

/// <summary>The production blocker: a SemaphoreSlim (allocation-free for synchronous Wait/Release).</summary>
internal sealed class SemaphoreBlocker : IBlocker
{
    private readonly SemaphoreSlim _semaphore = new(0, 1);

    public void Wait() => _semaphore.Wait();

    public void Release() => _semaphore.Release(); // throws SemaphoreFullException on a second permit

    public void Dispose() => _semaphore.Dispose();
}

/// <summary>
/// Spin-then-block wake-up for one waiter and wakers that call <see cref="Wake"/> only after making the
/// waiter's condition true. The waiter announces it is about to sleep (full fence), re-checks its
/// condition, then blocks; a waker releases the blocker only if it claimed the announcement. Either
/// the waiter sees the condition or the waker sees the announcement (Dekker), so no wake-up is lost,
/// and every release is consumed by the waiter it was meant for, so none is left over.
/// </summary>
/// <remarks>Generic over the interleaving hook and the blocker so that the Coyote tests run this exact
/// code with scheduling points and a cooperative blocker; production uses <see cref="WakeSignal"/>.</remarks>
internal class WakeSignal<THook, TBlocker> : IDisposable
    where THook : struct, IInterleavingHook
    where TBlocker : class, IBlocker, new()
{
    private readonly TBlocker _blocker = new();
    private int _sleeping;

    /// <summary>The blocker (for tests that inspect it).</summary>
    internal TBlocker Blocker => _blocker;

    /// <summary>Waiter: announce the intent to sleep. Re-check the condition after this.</summary>
    public void PrepareToSleep()
    {
        Interlocked.Exchange(ref _sleeping, 1);
        default(THook).Interleave();
    }

    /// <summary>Waiter: the condition became true after <see cref="PrepareToSleep"/>; withdraw.</summary>
    public void Cancel()
    {
        // A waker already claimed the announcement and is about to release: take that release so it
        // does not wake a later, unrelated sleep early.
        if (Interlocked.Exchange(ref _sleeping, 0) == 0) _blocker.Wait();
        default(THook).Interleave();
    }

    /// <summary>Waiter: block until a waker releases.</summary>
    public void Sleep() => _blocker.Wait();

    /// <summary>
    /// Waiter: blocks until <paramref name="condition"/> holds (the caller has usually spun on it first).
    /// A loop, not one sleep: a waker of an earlier condition (say, a worker that finished the last item of
    /// the previous epoch) may release late, after a new wait began; that wake-up re-checks and sleeps again.
    /// </summary>
    public void SleepUntil<TCondition>(ref TCondition condition) where TCondition : struct, IWakeCondition
    {
        while (true)
        {
            PrepareToSleep();
            if (condition.IsMet())
            {
                Cancel();
                return;
            }
            default(THook).Interleave();
            Sleep();
            default(THook).Interleave();
            if (condition.IsMet()) return;
        }
    }

    /// <summary>Waker: call after making the waiter's condition true.</summary>
    public void Wake()
    {
        if (Volatile.Read(ref _sleeping) == 1)
        {
            default(THook).Interleave();
            if (Interlocked.Exchange(ref _sleeping, 0) == 1)
            {
                default(THook).Interleave();
                _blocker.Release();
            }
        }
    }

    public void Dispose() => _blocker.Dispose();
}

/// <summary>The production wake-up signal: no interleaving points, a SemaphoreSlim to block on.</summary>
internal sealed class WakeSignal : WakeSignal<NoInterleaving, SemaphoreBlocker>
{
}
