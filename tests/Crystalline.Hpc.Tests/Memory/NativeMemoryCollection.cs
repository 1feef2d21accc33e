using Crystalline.Hpc.Memory;
using Xunit;

namespace Crystalline.Hpc.Tests.Memory;

/// <summary>The leak-checked memory tests run one after another (their concurrency tests already load both cores).</summary>
[CollectionDefinition(Name)]
public sealed class NativeMemoryCollection
{
    public const string Name = "Native memory (leak-checked)";
}

/// <summary>
/// Base of leak-checked test classes. xUnit makes one instance per test, so each test runs inside its
/// own <see cref="NativeMemoryTracker.BeginScope"/> scope, and Dispose fails the test unless every
/// buffer it allocated (on any thread it started) has been freed once its garbage has been finalized.
/// A scope counts only this test's buffers: the process-wide <see cref="NativeMemoryTracker.LiveBytes"/>
/// also moves when other tests run in parallel or when a retiring thread's per-thread scratch buffers
/// (GEMM packing) are finalized, which made a check on it flaky.
/// </summary>
public abstract class LeakCheckedTest : IDisposable
{
    private readonly NativeMemoryScope _scope = NativeMemoryTracker.BeginScope();

    /// <summary>Bytes of this test's buffers not yet freed.</summary>
    protected long LiveBytes => _scope.LiveBytes;

    public void Dispose()
    {
        _scope.Dispose();
        Settle();
        Assert.Equal(0, _scope.LiveBytes);
        GC.SuppressFinalize(this);
    }

    protected static void Settle()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }
}
