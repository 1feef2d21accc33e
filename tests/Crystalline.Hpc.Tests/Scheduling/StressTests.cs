using Crystalline.Hpc.Scheduling;
using Xunit;

namespace Crystalline.Hpc.Tests.Scheduling;

/// <summary>
/// Real-thread stress: millions of operations with more threads than cores, every item accounted for
/// exactly once. Each test stays within a few seconds on two cores.
/// </summary>
public class StressTests
{
    [Theory]
    [InlineData(1_000_000, 64, 3)]
    [InlineData(1_000_000, 8, 7)]
    public void Deque_owner_and_thieves_take_every_item_exactly_once(int items, int capacity, int thieves)
    {
        var deque = new ChaseLevDeque<NoInterleaving>(capacity);
        var seen = new int[items];
        long duplicates = 0, taken = 0;
        int ownerDone = 0;

        void Take(long v)
        {
            if (Interlocked.Increment(ref seen[v]) != 1) Interlocked.Increment(ref duplicates);
            Interlocked.Increment(ref taken);
        }

        var threads = new List<Thread>();
        for (int t = 0; t < thieves; t++)
        {
            threads.Add(new Thread(() =>
            {
                var spin = new SpinWait();
                while (Volatile.Read(ref ownerDone) == 0 || deque.Count > 0)
                {
                    StealResult r = deque.TrySteal(out long v);
                    if (r == StealResult.Success) Take(v);
                    else if (r == StealResult.Empty) spin.SpinOnce(sleep1Threshold: -1);
                }
            }));
        }
        foreach (Thread t in threads) t.Start();
        // Owner: bursts of pushes with pops in between, as a worker does; overflow is run directly.
        var rng = new Random(42);
        int next = 0;
        while (next < items)
        {
            int burst = rng.Next(1, capacity * 2);
            for (int i = 0; i < burst && next < items; i++, next++)
                if (!deque.TryPush(next)) Take(next);
            int pops = rng.Next(0, burst + 1);
            for (int i = 0; i < pops && deque.TryPop(out long v); i++) Take(v);
        }
        while (deque.TryPop(out long v)) Take(v);
        Volatile.Write(ref ownerDone, 1);
        foreach (Thread t in threads) t.Join();

        Assert.Equal(0, duplicates);
        Assert.Equal(items, taken);
        for (int i = 0; i < items; i++) if (seen[i] != 1) Assert.Fail($"item {i} taken {seen[i]} times");
    }

    [Theory]
    [InlineData(4, 4, 64, 300_000)]
    [InlineData(3, 5, 16, 200_000)]
    [InlineData(1, 6, 4, 60_000)]
    public void Queue_delivers_every_item_exactly_once_across_oversubscribed_threads(int producers, int consumers, int capacity, int perProducer)
    {
        int total = producers * perProducer;
        var q = new BoundedMpmcQueue<long, NoInterleaving>(capacity);
        var counts = new int[total];
        var orderViolations = 0;
        long consumed = 0;
        var threads = new List<Thread>();
        for (int p = 0; p < producers; p++)
        {
            int pp = p;
            threads.Add(new Thread(() =>
            {
                var spin = new SpinWait();
                for (int k = 0; k < perProducer; k++)
                {
                    long v = (long)pp * perProducer + k;
                    while (!q.TryEnqueue(v)) spin.SpinOnce(sleep1Threshold: -1);
                }
            }));
        }
        for (int c = 0; c < consumers; c++)
        {
            threads.Add(new Thread(() =>
            {
                var last = new long[producers];
                Array.Fill(last, -1);
                var spin = new SpinWait();
                while (Volatile.Read(ref consumed) < total)
                {
                    if (!q.TryDequeue(out long v)) { spin.SpinOnce(sleep1Threshold: -1); continue; }
                    Interlocked.Increment(ref counts[v]);
                    int p = (int)(v / perProducer);
                    if (v <= last[p]) Interlocked.Increment(ref orderViolations);
                    last[p] = v;
                    Interlocked.Increment(ref consumed);
                }
            }));
        }
        foreach (Thread t in threads) t.Start();
        foreach (Thread t in threads) t.Join();
        Assert.Equal(total, consumed);
        Assert.Equal(0, orderViolations);
        Assert.False(q.TryDequeue(out _));
        for (int i = 0; i < total; i++) if (counts[i] != 1) Assert.Fail($"item {i} delivered {counts[i]} times");
    }
}

public class ControlProcessStressTests
{
    /// <summary>Uneven, random work per sphere, so stealing, share claiming and late workers all happen.</summary>
    private sealed class RandomWork(int spheres) : ISphereWork, IParallelWork
    {
        public readonly int[] Runs = new int[spheres];
        public int Epoch;

        public void ExecuteSphere(int sphereIndex, int workerIndex)
        {
            uint h = (uint)(sphereIndex * 2654435761u) ^ (uint)Epoch * 40503u;
            Thread.SpinWait((int)(h % 64) * ((h & 0x100) != 0 ? 20 : 1));
            Interlocked.Increment(ref Runs[sphereIndex]);
        }

        public void ExecuteItem(int itemIndex, int workerIndex) => ExecuteSphere(itemIndex % spheres, workerIndex);
    }

    [Theory]
    [InlineData(4, 1, true, 0)]
    [InlineData(4, 1, true, 2000)]
    [InlineData(7, 2, true, 30)]
    [InlineData(3, 1, false, 0)]
    public void Thousands_of_epochs_run_every_sphere_exactly_once(int workers, int depth, bool caller, int spinRounds)
    {
        using var cp = new ControlProcess(new ControlProcessOptions
        {
            WorkerCount = workers, HierarchyDepth = depth, UseCallingThread = caller, SpinRounds = spinRounds, WorkingMemoryBytesPerWorker = 0,
        });
        var work = new RandomWork(cp.SphereCount);
        int epochs = depth == 1 ? 3000 : 200;
        for (int e = 0; e < epochs; e++)
        {
            work.Epoch = e;
            cp.RunEpoch(work);
            if (e % 10 == 0) cp.RunParallel(work, cp.SphereCount * 3);
        }
        int parallelRounds = (epochs + 9) / 10;
        for (int s = 0; s < cp.SphereCount; s++) Assert.Equal(epochs + 3 * parallelRounds, work.Runs[s]);
        SphereCounters w = cp.Statistics.WorkerTotals();
        SphereCounters sp = cp.Statistics.SumOfSpheres(0, cp.SphereCount);
        Assert.Equal((long)epochs * cp.SphereCount, sp.WorkItems);
        Assert.Equal(sp.WorkItems + 3L * parallelRounds * cp.SphereCount, w.WorkItems);
        Assert.Equal(w.StealsTaken, w.StealsGiven);
    }
}
