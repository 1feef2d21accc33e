using BenchmarkDotNet.Attributes;
using Crystalline.Hpc.Scheduling;

namespace Crystalline.Hpc.Benchmarks.Scheduling;

/// <summary>Throughput of the Chase-Lev deque and the Vyukov MPMC queue (time per operation).</summary>
[MemoryDiagnoser]
public class DequeQueueBenchmarks
{
    private const int Ops = 4096;
    private readonly ChaseLevDeque<NoInterleaving> _deque = new(Ops);
    private readonly BoundedMpmcQueue<SphereMessage, NoInterleaving> _queue = new(Ops);

    [Benchmark(OperationsPerInvoke = 2 * Ops, Description = "deque push+pop (owner)")]
    public long DequePushPop()
    {
        long sum = 0;
        for (int i = 0; i < Ops; i++) _deque.TryPush(i);
        for (int i = 0; i < Ops; i++) { _deque.TryPop(out long v); sum += v; }
        return sum;
    }

    [Benchmark(OperationsPerInvoke = 2 * Ops, Description = "deque push+steal (uncontended)")]
    public long DequePushSteal()
    {
        long sum = 0;
        for (int i = 0; i < Ops; i++) _deque.TryPush(i);
        for (int i = 0; i < Ops; i++) { _deque.TrySteal(out long v); sum += v; }
        return sum;
    }

    [Benchmark(OperationsPerInvoke = 2 * Ops, Description = "queue enqueue+dequeue (1 thread)")]
    public long QueueRoundTrip()
    {
        long sum = 0;
        for (int i = 0; i < Ops; i++) _queue.TryEnqueue(new SphereMessage(SphereMessageType.Data, 1, 2, i));
        for (int i = 0; i < Ops; i++) { _queue.TryDequeue(out SphereMessage m); sum += m.Payload; }
        return sum;
    }

    private const int ContendedItems = 200_000;

    [Benchmark(OperationsPerInvoke = 2 * ContendedItems, Description = "deque owner push/pop vs 1 thief (contended)")]
    public long DequeContended()
    {
        var d = new ChaseLevDeque<NoInterleaving>(1024);
        long taken = 0;
        int done = 0;
        var thief = new Thread(() =>
        {
            while (Volatile.Read(ref done) == 0 || d.Count > 0)
                if (d.TrySteal(out _) == StealResult.Success) Interlocked.Increment(ref taken);
        });
        thief.Start();
        for (int i = 0; i < ContendedItems; i++)
        {
            if (!d.TryPush(i)) Interlocked.Increment(ref taken);
            if ((i & 1) == 0 && d.TryPop(out _)) Interlocked.Increment(ref taken);
        }
        while (d.TryPop(out _)) Interlocked.Increment(ref taken);
        Volatile.Write(ref done, 1);
        thief.Join();
        return taken;
    }

    [Benchmark(OperationsPerInvoke = 2 * ContendedItems, Description = "queue 1 producer -> 1 consumer (contended)")]
    public long QueueContended()
    {
        var q = new BoundedMpmcQueue<SphereMessage, NoInterleaving>(1024);
        long got = 0;
        var consumer = new Thread(() =>
        {
            while (Volatile.Read(ref got) < ContendedItems)
                if (q.TryDequeue(out _)) Volatile.Write(ref got, got + 1);
        });
        consumer.Start();
        for (int i = 0; i < ContendedItems; i++)
            while (!q.TryEnqueue(new SphereMessage(SphereMessageType.Data, 0, 1, i))) Thread.SpinWait(1);
        consumer.Join();
        return got;
    }
}
