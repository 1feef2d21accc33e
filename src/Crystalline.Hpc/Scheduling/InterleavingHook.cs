namespace Crystalline.Hpc.Scheduling;

/// <summary>
/// A point where a systematic tester may switch threads. The lock-free structures call it between the
/// steps whose interleaving matters; production code uses <see cref="NoInterleaving"/>, a struct whose
/// empty method the JIT removes, so the hook costs nothing outside tests.
/// </summary>
internal interface IInterleavingHook
{
    void Interleave();
}

/// <summary>The production hook: does nothing.</summary>
internal readonly struct NoInterleaving : IInterleavingHook
{
    public void Interleave() { }
}
