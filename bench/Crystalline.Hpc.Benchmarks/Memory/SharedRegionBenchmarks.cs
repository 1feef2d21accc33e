using BenchmarkDotNet.Attributes;
using Crystalline.Hpc.Memory;

namespace Crystalline.Hpc.Benchmarks.Memory;

/// <summary>
/// What shared regions cost, against a plain copy of the same 4 MiB (1 Mi floats, about a GPT-2
/// layer's attention weights): a copy-on-write write is one copy plus (by default) one checksum pass;
/// a read lease is a reference-count CAS (copy-on-write) or a reader-writer lock (locked-write).
/// Run: <c>dotnet run -c Release --project bench/Crystalline.Hpc.Benchmarks -- --filter '*SharedRegionBenchmarks*' --job short</c>.
/// </summary>
[MemoryDiagnoser]
public class SharedRegionBenchmarks
{
    private const int N = 1 << 20;
    private const int Leases = 1000;
    private AlignedBuffer<float> _source = null!, _target = null!;
    private SharedMemoryRegion<float> _cow = null!, _cowNoChecksum = null!, _locked = null!;

    [GlobalSetup]
    public void Setup()
    {
        _source = new AlignedBuffer<float>(N);
        _target = new AlignedBuffer<float>(N);
        for (int i = 0; i < N; i++) _source.Span[i] = i * 0.5f;
        _cow = new SharedMemoryRegion<float>(_source.Span, SharedAccessMode.CopyOnWrite);
        _cowNoChecksum = new SharedMemoryRegion<float>(_source.Span, SharedAccessMode.CopyOnWrite, recordChecksums: false);
        _locked = new SharedMemoryRegion<float>(_source.Span, SharedAccessMode.LockedWrite, recordChecksums: false);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _cow.Dispose();
        _cowNoChecksum.Dispose();
        _locked.Dispose();
        _source.Dispose();
        _target.Dispose();
    }

    [Benchmark(Baseline = true, Description = "plain copy 4 MiB")]
    public float PlainCopy()
    {
        _source.Span.CopyTo(_target.Span);
        return _target.Span[N - 1];
    }

    [Benchmark(Description = "RegionChecksum 4 MiB (dispatch: AVX-512 here)")]
    public ulong Checksum() => RegionChecksum.Compute<float>(_source.Span);

    [Benchmark(Description = "RegionChecksum 4 MiB, scalar reference")]
    public ulong ChecksumScalar() => RegionChecksum.ComputeScalar(System.Runtime.InteropServices.MemoryMarshal.AsBytes(_source.Span));

    [Benchmark(Description = "copy-on-write write+commit, checksum")]
    public long CowWrite()
    {
        var w = _cow.BeginWrite();
        w.Span[0] += 1;
        w.Commit();
        return _cow.Version;
    }

    [Benchmark(Description = "copy-on-write write+commit, no checksum")]
    public long CowWriteNoChecksum()
    {
        var w = _cowNoChecksum.BeginWrite();
        w.Span[0] += 1;
        w.Commit();
        return _cowNoChecksum.Version;
    }

    [Benchmark(Description = "locked-write write, no checksum")]
    public long LockedWrite()
    {
        var w = _locked.BeginWrite();
        w.Span[0] += 1;
        w.Commit();
        return _locked.Version;
    }

    [Benchmark(OperationsPerInvoke = Leases, Description = "copy-on-write read lease (per lease)")]
    public float CowReadLease()
    {
        float s = 0;
        for (int i = 0; i < Leases; i++)
        {
            using var r = _cow.AcquireRead();
            s += r.Span[i];
        }
        return s;
    }

    [Benchmark(OperationsPerInvoke = Leases, Description = "locked-write read lease (per lease)")]
    public float LockedReadLease()
    {
        float s = 0;
        for (int i = 0; i < Leases; i++)
        {
            using var r = _locked.AcquireRead();
            s += r.Span[i];
        }
        return s;
    }
}
