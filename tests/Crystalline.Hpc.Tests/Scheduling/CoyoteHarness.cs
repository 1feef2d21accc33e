using Crystalline.Hpc.Scheduling;
using Microsoft.Coyote;
using Microsoft.Coyote.Runtime;
using Microsoft.Coyote.SystematicTesting;

namespace Crystalline.Hpc.Tests.Scheduling;

/// <summary>The hook that turns every interleaving point of the lock-free structures into a Coyote scheduling point.</summary>
internal readonly struct CoyoteInterleaving : IInterleavingHook
{
    public void Interleave() => SchedulingPoint.Interleave();
}

/// <summary>
/// Runs plain threads as Coyote controlled operations (no binary rewriting needed): Coyote's scheduler
/// then decides, at every <see cref="SchedulingPoint.Interleave"/>, which thread goes next, and explores
/// a different interleaving each iteration.
/// </summary>
internal static class CoyoteHarness
{
    public static void RunConcurrently(params Action[] bodies)
    {
        var ids = new ulong[bodies.Length];
        var threads = new Thread[bodies.Length];
        for (int i = 0; i < bodies.Length; i++)
        {
            ulong? id = Operation.CreateNext();
            if (id is null) throw new InvalidOperationException("not running under the Coyote testing engine");
            ids[i] = id.Value;
            Action body = bodies[i];
            threads[i] = new Thread(state =>
            {
                try
                {
                    Operation.OnStarted((ulong)state!);
                    body();
                    Operation.OnCompleted();
                    Operation.ScheduleNext();
                }
                catch (ThreadInterruptedException)
                {
                    // Coyote found a bug (an assertion, a deadlock) and detaches the remaining operations
                    // of this iteration by interrupting their threads: the report is already recorded.
                }
            })
            { IsBackground = true };
            Operation.Start(ids[i]);
            threads[i].Start(ids[i]);
        }
        Operation.ScheduleNext();
        foreach (ulong id in ids) Operation.PauseUntilCompleted(id);
        foreach (Thread t in threads) t.Join();
    }

    /// <summary>Explores <paramref name="iterations"/> schedules of <paramref name="test"/>; returns the bug reports.</summary>
    public static IReadOnlyList<string> Explore(Action test, uint iterations, int seed = 12)
    {
        Configuration config = Configuration.Create()
            .WithTestingIterations(iterations)
            .WithRandomGeneratorSeed((uint)seed)
            .WithMaxSchedulingSteps(2000);
        using TestingEngine engine = TestingEngine.Create(config, test);
        engine.Run();
        return engine.TestReport.BugReports.ToList();
    }
}
