using Crystalline.Hpc.Memory;
using Xunit;

namespace Crystalline.Hpc.Tests.Memory;

/// <summary>
/// Tests that assert on <see cref="NativeMemoryTracker.LiveBytes"/>, a process-wide counter. xUnit runs
/// a collection with DisableParallelization after all parallel collections and alone, so no other
/// test allocates or finalizes native buffers while these look at the counter.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class NativeMemoryCollection
{
    public const string Name = "Native memory (sequential, leak-checked)";
}

/// <summary>
/// Base of leak-checked test classes: xUnit makes one instance per test, so the constructor records the
/// live native bytes (after flushing pending finalizers) and Dispose fails the test if they are not
/// back to that baseline once the test's garbage has been finalized.
/// </summary>
public abstract class LeakCheckedTest : IDisposable
{
    private readonly long _baseline;

    protected LeakCheckedTest()
    {
        Settle();
        _baseline = NativeMemoryTracker.LiveBytes;
    }

    protected long Baseline => _baseline;

    public void Dispose()
    {
        Settle();
        Assert.Equal(_baseline, NativeMemoryTracker.LiveBytes);
        GC.SuppressFinalize(this);
    }

    protected static void Settle()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }
}
