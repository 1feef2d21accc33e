using Crystalline.Hpc.Scheduling;
using Microsoft.Coyote.Specifications;
using Xunit;

namespace Crystalline.Hpc.Tests.Scheduling;

/// <summary>
/// Systematic (Coyote) exploration of the races that matter: the owner's pop against thieves' steals for
/// the last items, and producers against consumers in the MPMC queue around the full and empty edges.
/// Coyote explores thread interleavings at the structures' interleaving points (sequentially consistent
/// executions; weak-memory reorderings are covered by the fences argued in ChaseLevDeque, not here).
/// </summary>
public class CoyoteTests
{
    private static void DequeScenario(int items, int capacity, int thieves)
    {
        var deque = new ChaseLevDeque<CoyoteInterleaving>(capacity);
        var seen = new int[items + 1];
        int pushed = 0;
        var bodies = new Action[thieves + 1];
        bodies[0] = () =>
        {
            // Owner: push, pop one, push the rest, pop until empty.
            for (int i = 1; i <= items; i++)
            {
                if (deque.TryPush(i)) pushed++;
                else seen[i]++; // overflow path: the owner runs it itself
                if (i == 1 && deque.TryPop(out long x)) Interlocked.Increment(ref seen[x]);
            }
            while (deque.TryPop(out long y)) Interlocked.Increment(ref seen[y]);
        };
        for (int t = 1; t <= thieves; t++)
        {
            bodies[t] = () =>
            {
                for (int attempt = 0; attempt < items + 2; attempt++)
                {
                    StealResult r = deque.TrySteal(out long x);
                    if (r == StealResult.Success)
                    {
                        Specification.Assert(x >= 1 && x <= items, $"stole a value never pushed: {x}");
                        Interlocked.Increment(ref seen[x]);
                    }
                }
            };
        }
        CoyoteHarness.RunConcurrently(bodies);
        // Whatever is left (thieves gave up) is drained by the owner afterwards.
        while (deque.TryPop(out long z)) seen[z]++;
        for (int i = 1; i <= items; i++)
            Specification.Assert(seen[i] == 1, $"item {i} was taken {seen[i]} times");
    }

    [Theory]
    [InlineData(1, 4, 1)]
    [InlineData(2, 4, 2)]
    [InlineData(3, 2, 2)]
    public void Pop_and_steal_never_lose_or_duplicate_an_item(int items, int capacity, int thieves)
    {
        IReadOnlyList<string> bugs = CoyoteHarness.Explore(() => DequeScenario(items, capacity, thieves), iterations: 400);
        Assert.True(bugs.Count == 0, string.Join("\n", bugs));
    }

    /// <summary>A Chase-Lev pop that skips the CAS on the last item (the classic bug): the harness must catch it.</summary>
    private sealed class BrokenDeque
    {
        private readonly long[] _items = new long[8];
        private long _top, _bottom;

        public void Push(long v) { _items[_bottom & 7] = v; _bottom++; }

        public bool Pop(out long v)
        {
            long b = _bottom - 1;
            _bottom = b;
            Microsoft.Coyote.Runtime.SchedulingPoint.Interleave();
            long t = Volatile.Read(ref _top);
            if (t <= b) { v = _items[b & 7]; return true; } // no race resolution for t == b
            _bottom = b + 1;
            v = 0;
            return false;
        }

        public bool Steal(out long v)
        {
            long t = Volatile.Read(ref _top);
            Microsoft.Coyote.Runtime.SchedulingPoint.Interleave();
            long b = Volatile.Read(ref _bottom);
            if (t < b)
            {
                v = _items[t & 7];
                Microsoft.Coyote.Runtime.SchedulingPoint.Interleave();
                if (Interlocked.CompareExchange(ref _top, t + 1, t) == t) return true;
            }
            v = 0;
            return false;
        }
    }

    [Fact]
    public void The_harness_finds_the_missing_CAS_bug()
    {
        IReadOnlyList<string> bugs = CoyoteHarness.Explore(() =>
        {
            var d = new BrokenDeque();
            d.Push(1);
            int taken = 0;
            CoyoteHarness.RunConcurrently(
                () => { if (d.Pop(out _)) Interlocked.Increment(ref taken); },
                () => { if (d.Steal(out _)) Interlocked.Increment(ref taken); });
            Specification.Assert(taken <= 1, $"one item taken {taken} times");
        }, iterations: 400);
        Assert.NotEmpty(bugs);
    }

    private static void QueueScenario(int capacity, int producers, int perProducer, int consumers)
    {
        var q = new BoundedMpmcQueue<long, CoyoteInterleaving>(capacity);
        int total = producers * perProducer;
        var seen = new int[total];
        var lastFromProducer = new long[consumers, producers];
        var bodies = new List<Action>();
        for (int p = 0; p < producers; p++)
        {
            int pp = p;
            bodies.Add(() =>
            {
                for (int k = 0; k < perProducer; k++)
                {
                    long v = pp * perProducer + k;
                    int tries = 0;
                    // Full: let a consumer run, but give up after a bound so every schedule ends.
                    while (!q.TryEnqueue(v) && ++tries < 4) Microsoft.Coyote.Runtime.SchedulingPoint.Yield();
                    if (tries >= 4) Interlocked.Increment(ref seen[v]); // never enqueued: the producer keeps it
                }
            });
        }
        for (int c = 0; c < consumers; c++)
        {
            int cc = c;
            bodies.Add(() =>
            {
                for (int k = 0; k < total; k++)
                {
                    if (!q.TryDequeue(out long v)) continue;
                    Specification.Assert(v >= 0 && v < total, $"dequeued a value never enqueued: {v}");
                    int p = (int)(v / perProducer);
                    // Per-producer FIFO as seen by one consumer.
                    Specification.Assert(v % perProducer >= lastFromProducer[cc, p], $"consumer {cc} saw producer {p} out of order");
                    lastFromProducer[cc, p] = v % perProducer + 1;
                    Interlocked.Increment(ref seen[v]);
                }
            });
        }
        CoyoteHarness.RunConcurrently(bodies.ToArray());
        while (q.TryDequeue(out long v)) seen[v]++;
        for (int i = 0; i < total; i++) Specification.Assert(seen[i] == 1, $"value {i} handled {seen[i]} times");
    }

    [Theory]
    [InlineData(2, 2, 2, 1)]
    [InlineData(2, 2, 2, 2)]
    [InlineData(4, 1, 3, 2)]
    public void Queue_delivers_every_message_exactly_once_in_producer_order(int capacity, int producers, int perProducer, int consumers)
    {
        IReadOnlyList<string> bugs = CoyoteHarness.Explore(() => QueueScenario(capacity, producers, perProducer, consumers), iterations: 300);
        Assert.True(bugs.Count == 0, string.Join("\n", bugs));
    }
}
