using Crystalline.Hpc.Scheduling;
using Xunit;

namespace Crystalline.Hpc.Tests.Scheduling;

/// <summary>
/// <see cref="ControlProcess.ParallelOwnerOf"/> names the worker whose block holds a <see cref="ControlProcess.RunParallel"/>
/// item: the blocks are contiguous, cover every item once, and — with stealing off — every item runs exactly there.
/// </summary>
public class ParallelOwnerTests
{
    private sealed class WhereRun(int items) : IParallelWork
    {
        public readonly int[] Worker = new int[items];
        public void ExecuteItem(int itemIndex, int workerIndex) => Worker[itemIndex] = workerIndex;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(5)]
    public void Items_run_on_their_owner_with_stealing_off(int workers)
    {
        using var cp = new ControlProcess(new ControlProcessOptions { WorkerCount = workers, HierarchyDepth = 1, SpinRounds = 50, EnableWorkStealing = false });
        foreach (int count in new[] { 1, 2, 3, 4, 7, 12, 13, 100 })
        {
            var work = new WhereRun(count);
            cp.RunParallel(work, count);
            int last = 0;
            for (int i = 0; i < count; i++)
            {
                int owner = cp.ParallelOwnerOf(i, count);
                Assert.Equal(owner, work.Worker[i]);
                Assert.True(owner >= last && owner < workers, $"{count} items: item {i} owned by {owner} after {last}"); // contiguous, ascending
                last = owner;
            }
        }
    }

    [Fact]
    public void Bad_arguments_throw()
    {
        using var cp = new ControlProcess(new ControlProcessOptions { WorkerCount = 2, HierarchyDepth = 1, SpinRounds = 50 });
        Assert.Throws<ArgumentOutOfRangeException>(() => cp.ParallelOwnerOf(0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => cp.ParallelOwnerOf(-1, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => cp.ParallelOwnerOf(4, 4));
    }
}
