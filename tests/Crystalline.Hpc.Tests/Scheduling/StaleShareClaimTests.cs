using Crystalline.Hpc.Scheduling;
using Xunit;

namespace Crystalline.Hpc.Tests.Scheduling;

/// <summary>
/// Regression: with more workers than leaves (or items), some workers' shares are empty, so an epoch can
/// end while a straggling thief is still claiming one of them. Before the fix, that thief filled the
/// claimed share with the *next* epoch's parameters (another worker's RunOnEachWorker item, or a slice
/// of the next RunParallel), which its owner then ran again: an item ran twice, Pending went below zero
/// and the control thread slept forever (seen as a hang of a 24-worker test, 1 run in ~7).
/// </summary>
public class StaleShareClaimTests
{
    private sealed class Counter(int size) : IParallelWork, ISphereWork
    {
        public readonly int[] Runs = new int[size];
        public void ExecuteItem(int itemIndex, int workerIndex) => Interlocked.Increment(ref Runs[itemIndex]);
        public void ExecuteSphere(int sphereIndex, int workerIndex)
        {
            Interlocked.Increment(ref Runs[sphereIndex]);
            Thread.SpinWait(20);
        }
        public void Reset() => Array.Clear(Runs);
    }

    [Theory]
    [InlineData(24)]
    [InlineData(17)]
    public async Task Alternating_epoch_kinds_with_empty_shares_run_every_item_exactly_once(int workers)
    {
        var run = Task.Run(() =>
        {
            using var cp = new ControlProcess(new ControlProcessOptions { WorkerCount = workers, HierarchyDepth = 1, SpinRounds = 10 });
            var spheres = new Counter(12);
            var each = new Counter(workers);
            var items = new Counter(64);
            for (int round = 0; round < 1500; round++)
            {
                spheres.Reset();
                cp.RunEpoch(spheres); // 12 leaves over `workers` workers: some shares empty
                Assert.All(spheres.Runs, r => Assert.Equal(1, r));

                each.Reset();
                cp.RunOnEachWorker(each);
                Assert.All(each.Runs, r => Assert.Equal(1, r));

                int count = 1 + round % 40; // often fewer items than workers: empty shares again
                items.Reset();
                cp.RunParallel(items, count);
                for (int i = 0; i < items.Runs.Length; i++) Assert.Equal(i < count ? 1 : 0, items.Runs[i]);
            }
        });
        // A lost completion shows up as a hang; fail instead of stalling the suite.
        var finished = await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(60)));
        Assert.True(finished == run, "the control process stalled (an item ran twice or a completion was lost)");
        await run;
    }
}
