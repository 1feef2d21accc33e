using Crystalline.Hpc.Scheduling;
using Microsoft.Coyote.Runtime;
using Microsoft.Coyote.Specifications;
using Xunit;

namespace Crystalline.Hpc.Tests.Scheduling;

/// <summary>A blocker Coyote controls: Wait pauses the operation until a permit exists (so a lost
/// wake-up shows up as a deadlock Coyote reports), and a second permit is a reported bug.</summary>
internal sealed class CoyoteBlocker : IBlocker
{
    private int _permits;

    public void Wait()
    {
        Operation.PauseUntil(() => Volatile.Read(ref _permits) > 0);
        _permits--;
    }

    public void Release()
    {
        Specification.Assert(_permits == 0, "a second permit was released before the first was taken");
        _permits++;
        SchedulingPoint.Interleave();
    }

    public int Permits => _permits;

    public void Dispose() { }
}

/// <summary>
/// Systematic (Coyote) tests of the spin-then-block wake-up the control process uses both ways: workers
/// sleeping until the next epoch, and the control thread sleeping until the last item is done (where a
/// worker that finished the previous epoch may call Wake late). The production <see cref="WakeSignal{THook, TBlocker}"/>
/// code runs here with a scheduling point between its steps and a cooperative blocker.
/// </summary>
public class WakeSignalCoyoteTests
{
    private sealed class Signal : WakeSignal<CoyoteInterleaving, CoyoteBlocker>
    {
    }

    private sealed class Shared
    {
        public long Epoch;
        public long Done;
        public long Target;
    }

    private readonly struct EpochChanged(Shared s, long seen) : IWakeCondition
    {
        public bool IsMet() => Volatile.Read(ref s.Epoch) != seen;
    }

    private readonly struct AllDone(Shared s) : IWakeCondition
    {
        public bool IsMet() => Volatile.Read(ref s.Done) == Volatile.Read(ref s.Target);
    }

    /// <summary>
    /// The epoch protocol reduced to its wake-ups: a control thread starts <paramref name="epochs"/> epochs of
    /// one item per worker and sleeps until they are done; each worker sleeps until an epoch starts, runs
    /// its item and wakes the control thread when it finished the last one. With <paramref name="broken"/>,
    /// the waiters skip the re-check after announcing sleep — the classic lost wake-up.
    /// </summary>
    private static void EpochScenario(int workers, int epochs, bool broken)
    {
        var shared = new Shared();
        var control = new Signal();
        var workerSignals = new Signal[workers];
        for (int w = 0; w < workers; w++) workerSignals[w] = new Signal();
        var ran = new int[workers, epochs + 1];

        void SleepUntil<T>(Signal signal, ref T condition) where T : struct, IWakeCondition
        {
            if (!broken)
            {
                signal.SleepUntil(ref condition);
                return;
            }
            while (!condition.IsMet())
            {
                SchedulingPoint.Interleave();
                signal.PrepareToSleep();
                SchedulingPoint.Interleave();
                signal.Sleep(); // no re-check after the announcement
            }
        }

        var bodies = new Action[workers + 1];
        bodies[0] = () =>
        {
            for (long e = 1; e <= epochs; e++)
            {
                shared.Target += workers;
                Interlocked.Exchange(ref shared.Epoch, e);
                SchedulingPoint.Interleave();
                foreach (Signal s in workerSignals) s.Wake();
                var done = new AllDone(shared);
                SleepUntil(control, ref done);
                Specification.Assert(Volatile.Read(ref shared.Done) == e * workers, $"epoch {e} ended with {shared.Done} items done");
            }
        };
        for (int w = 0; w < workers; w++)
        {
            int me = w;
            bodies[w + 1] = () =>
            {
                long seen = 0;
                while (seen < epochs)
                {
                    var changed = new EpochChanged(shared, seen);
                    SleepUntil(workerSignals[me], ref changed);
                    long epoch = Volatile.Read(ref shared.Epoch);
                    // One item per epoch this worker saw; a worker that slept through an epoch would
                    // hold it open forever, so each epoch waits for every worker (as RunOnEachWorker does).
                    for (long e = seen + 1; e <= epoch; e++)
                    {
                        ran[me, e]++;
                        long target = Volatile.Read(ref shared.Target);
                        SchedulingPoint.Interleave();
                        if (Interlocked.Add(ref shared.Done, 1) == target) control.Wake();
                    }
                    seen = epoch;
                }
            };
        }
        CoyoteHarness.RunConcurrently(bodies);
        for (int w = 0; w < workers; w++)
            for (int e = 1; e <= epochs; e++)
                Specification.Assert(ran[w, e] == 1, $"worker {w} ran epoch {e} {ran[w, e]} times");
        // Every release was taken by the wait it was meant for: none is left to wake a later sleep early.
        Specification.Assert(control.Blocker.Permits == 0, "a wake-up of the control thread was left over");
        foreach (Signal s in workerSignals) Specification.Assert(s.Blocker.Permits == 0, "a wake-up of a worker was left over");
    }

    [Theory]
    [InlineData(1, 3)]
    [InlineData(2, 3)]
    [InlineData(3, 2)]
    public void No_wake_up_is_lost_or_left_over(int workers, int epochs)
    {
        IReadOnlyList<string> bugs = CoyoteHarness.Explore(() => EpochScenario(workers, epochs, broken: false), iterations: 300);
        Assert.True(bugs.Count == 0, string.Join("\n", bugs));
    }

    [Fact]
    public void Coyote_finds_the_lost_wake_up_of_a_waiter_that_does_not_recheck()
    {
        IReadOnlyList<string> bugs = CoyoteHarness.Explore(() => EpochScenario(2, 3, broken: true), iterations: 300);
        Assert.NotEmpty(bugs);
        Assert.Contains("deadlock", bugs[0], StringComparison.OrdinalIgnoreCase); // everyone asleep, nobody to wake them
    }
}
