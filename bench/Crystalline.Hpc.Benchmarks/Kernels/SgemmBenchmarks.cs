using BenchmarkDotNet.Attributes;
using Crystalline.Hpc.Kernels;
using Crystalline.Hpc.Memory;

namespace Crystalline.Hpc.Benchmarks.Kernels;

/// <summary>
/// SGEMM on the GPT-2-small shapes, ours against OpenBLAS's cblas_sgemm, one thread each.
/// Run: <c>env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE dotnet run -c Release --project bench/Crystalline.Hpc.Benchmarks -- --filter '*SgemmBenchmarks*' --job short</c>.
/// The <c>gemm</c> verb (<see cref="GemmHarness"/>) is the fuller comparison: GFLOP/s, 2 threads, FMA peak, thread CPU time.
/// </summary>
[MemoryDiagnoser]
public unsafe class SgemmBenchmarks
{
    [Params("256x768x2304", "256x3072x768", "1024x1024x1024")]
    public string Shape { get; set; } = "256x768x2304";

    private int _m, _k, _n;
    private AlignedBuffer<float> _a = null!, _b = null!, _c = null!;

    [GlobalSetup]
    public void Setup()
    {
        var parts = Shape.Split('x');
        (_m, _k, _n) = (int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture),
            int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture),
            int.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture));
        _a = new AlignedBuffer<float>((long)_m * _k);
        _b = new AlignedBuffer<float>((long)_k * _n);
        _c = new AlignedBuffer<float>((long)_m * _n);
        var rng = new Random(1);
        for (long i = 0; i < _a.Length; i++) _a.Pointer[i] = (float)rng.NextDouble() - 0.5f;
        for (long i = 0; i < _b.Length; i++) _b.Pointer[i] = (float)rng.NextDouble() - 0.5f;
        if (OpenBlas.TryLoad(out _)) OpenBlas.SetNumThreads(1);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _a.Dispose();
        _b.Dispose();
        _c.Dispose();
    }

    [Benchmark(Baseline = true, Description = "OpenBLAS cblas_sgemm, 1 thread")]
    public void OpenBlasSgemm() =>
        OpenBlas.Sgemm(OpenBlas.RowMajor, OpenBlas.NoTrans, OpenBlas.NoTrans, _m, _n, _k, 1f,
            _a.Pointer, _k, _b.Pointer, _n, 0f, _c.Pointer, _n);

    [Benchmark(Description = "Crystalline Sgemm.Multiply, 1 thread")]
    public void Ours() =>
        Sgemm.Multiply(false, false, _m, _n, _k, 1f, _a.Span, _k, _b.Span, _n, 0f, _c.Span, _n);
}
