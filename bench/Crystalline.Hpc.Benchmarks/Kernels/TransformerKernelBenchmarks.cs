using BenchmarkDotNet.Attributes;
using Crystalline.Hpc.Kernels;
using Crystalline.Hpc.Memory;

namespace Crystalline.Hpc.Benchmarks.Kernels;

// Run: dotnet run -c Release --project bench/Crystalline.Hpc.Benchmarks -- --filter '*TransformerKernelBenchmarks*' --job short
/// <summary>
/// The transformer kernels at GPT-2-small shapes for one sequence of 256 tokens (C = 768, NH = 12,
/// 4C = 3072, V = 50257 padded to 50304), scalar reference against the widest vector path.
/// </summary>
[Config(typeof(KernelBenchmarkConfig))]
[CategoriesColumn]
public class TransformerKernelBenchmarks
{
    private const int T = 256, C = 768, NH = 12, V = 50257, Vp = 50304, CeRows = 16;
    private AlignedBuffer<float> _x = null!, _y = null!, _dx = null!, _w = null!, _b = null!, _dw = null!, _db = null!, _mean = null!, _rstd = null!;
    private AlignedBuffer<float> _qkv = null!, _dqkv = null!, _att = null!, _pre = null!, _datt = null!, _dpre = null!, _out = null!, _dout = null!;
    private AlignedBuffer<float> _h = null!, _dh = null!, _logits = null!, _probs = null!, _losses = null!, _dlogits = null!;
    /// <summary>Elements behind the GB/s column (only the GELU rows carry a bytes-per-element figure).</summary>
    public static readonly long ElementsPerOperation = (long)T * 4 * C;
    private readonly int[] _targets = new int[CeRows];

    [Params(VectorWidth.Scalar, VectorWidth.Auto)]
    public VectorWidth Width { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(4);
        AlignedBuffer<float> Filled(long n, float scale)
        {
            var a = new AlignedBuffer<float>(n);
            for (int i = 0; i < n; i++) a.Span[i] = (float)(rng.NextDouble() * 2 - 1) * scale;
            return a;
        }
        _x = Filled(T * C, 2); _y = Filled(T * C, 1); _dx = Filled(T * C, 1); _w = Filled(C, 1); _b = Filled(C, 1);
        _dw = Filled(C, 1); _db = Filled(C, 1); _mean = Filled(T, 0); _rstd = Filled(T, 0);
        _qkv = Filled(3 * T * C, 1); _dqkv = Filled(3 * T * C, 0); _att = Filled(NH * T * T, 0); _pre = Filled(NH * T * T, 0);
        _datt = Filled(NH * T * T, 0); _dpre = Filled(NH * T * T, 0); _out = Filled(T * C, 0); _dout = Filled(T * C, 1);
        _h = Filled(T * 4 * C, 3); _dh = Filled(T * 4 * C, 1);
        _logits = Filled(CeRows * Vp, 8); _probs = Filled(CeRows * Vp, 0); _losses = Filled(CeRows, 0); _dlogits = Filled(CeRows * Vp, 0);
        for (int i = 0; i < CeRows; i++) _targets[i] = rng.Next(V);
        LayerNorm.Forward(_y.Span, _mean.Span, _rstd.Span, _x.Span, _w.Span, _b.Span, T, C);
        Attention.Forward(_out.Span, _pre.Span, _att.Span, _qkv.Span, 1, T, C, NH);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var a in new[] { _x, _y, _dx, _w, _b, _dw, _db, _mean, _rstd, _qkv, _dqkv, _att, _pre, _datt, _dpre, _out, _dout, _h, _dh, _logits, _probs, _losses, _dlogits })
            a.Dispose();
    }

    [Benchmark, BenchmarkCategory("LayerNorm 256x768")]
    public void LayerNormForward() => LayerNorm.Forward(_y.Span, _mean.Span, _rstd.Span, _x.Span, _w.Span, _b.Span, T, C, Width);

    [Benchmark, BenchmarkCategory("LayerNorm 256x768")]
    public void LayerNormBackward() => LayerNorm.Backward(_dx.Span, _dw.Span, _db.Span, _dout.Span, _x.Span, _w.Span, _mean.Span, _rstd.Span, T, C, Width);

    [Benchmark, BenchmarkCategory("Attention T=256 C=768 NH=12")]
    public void AttentionForward() => Attention.Forward(_out.Span, _pre.Span, _att.Span, _qkv.Span, 1, T, C, NH, Width);

    [Benchmark, BenchmarkCategory("Attention T=256 C=768 NH=12")]
    public void AttentionBackward() => Attention.Backward(_dqkv.Span, _dpre.Span, _datt.Span, _dout.Span, _qkv.Span, _att.Span, 1, T, C, NH, Width);

    [Benchmark, BenchmarkCategory("GELU 256x3072"), BytesPerElement(8)]
    public void GeluForward() => Gelu.Forward(_dh.Span, _h.Span, Width);

    [Benchmark, BenchmarkCategory("GELU 256x3072"), BytesPerElement(16)]
    public void GeluBackward() => Gelu.Backward(_dh.Span, _h.Span, _h.Span, Width);

    [Benchmark, BenchmarkCategory("Softmax-CE 16x50257")]
    public void SoftmaxCrossEntropyForward() => SoftmaxCrossEntropy.Forward(_losses.Span, _probs.Span, _logits.Span, _targets, CeRows, V, Vp, Width);

    [Benchmark, BenchmarkCategory("Softmax-CE 16x50257")]
    public void SoftmaxCrossEntropyBackward() => SoftmaxCrossEntropy.Backward(_dlogits.Span, _probs.Span, _targets, 1f / CeRows, CeRows, V, Vp, Width);
}
