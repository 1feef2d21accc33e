using System.Numerics.Tensors;
using System.Reflection;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Crystalline.Hpc.Kernels;
using Crystalline.Hpc.Memory;

namespace Crystalline.Hpc.Benchmarks.Kernels;

// Run: dotnet run -c Release --project bench/Crystalline.Hpc.Benchmarks -- --filter '*ElementwiseBenchmarks*' '*SoftmaxBenchmarks*' '*KernelWidthBenchmarks*' --job short
// Each category pairs our kernel with System.Numerics.Tensors.TensorPrimitives where they overlap; the GB/s
// column counts the bytes a single fused pass must move (reads + writes per element), so a multi-pass
// composition is charged the same useful traffic as the fused kernel.

/// <summary>Bytes one element costs a single pass of the kernel (read + written).</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class BytesPerElementAttribute(int bytes) : Attribute
{
    public int Bytes { get; } = bytes;
}

/// <summary>The GB/s column: elements · bytes-per-element / mean time.</summary>
public sealed class GigabytesPerSecondColumn : IColumn
{
    public string Id => nameof(GigabytesPerSecondColumn);
    public string ColumnName => "GB/s";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "useful bytes moved per second (10^9), from BytesPerElement × elements / mean";
    public bool IsAvailable(Summary summary) => true;
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var report = summary[benchmarkCase];
        var stats = report?.ResultStatistics;
        var bytes = benchmarkCase.Descriptor.WorkloadMethod.GetCustomAttribute<BytesPerElementAttribute>();
        if (stats is null || bytes is null) return "-";
        long elements = benchmarkCase.Descriptor.Type.GetField("ElementsPerOperation", BindingFlags.Public | BindingFlags.Static) is { } f
            ? Convert.ToInt64(f.GetValue(null), System.Globalization.CultureInfo.InvariantCulture)
            : 0;
        object? n = benchmarkCase.Parameters.Items.FirstOrDefault(p => p.Name == "N")?.Value;
        if (n is not null) elements = Convert.ToInt64(n, System.Globalization.CultureInfo.InvariantCulture);
        return (elements * (double)bytes.Bytes / stats.Mean).ToString("F1", System.Globalization.CultureInfo.InvariantCulture); // bytes/ns = GB/s
    }
}

public sealed class KernelBenchmarkConfig : ManualConfig
{
    public KernelBenchmarkConfig()
    {
        AddColumn(new GigabytesPerSecondColumn());
        AddColumn(CategoriesColumn.Default);
        AddLogicalGroupRules(BenchmarkLogicalGroupRule.ByCategory, BenchmarkLogicalGroupRule.ByParams);
    }
}

[Config(typeof(KernelBenchmarkConfig))]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public unsafe class ElementwiseBenchmarks
{
    private AlignedBuffer<float> _x = null!, _y = null!, _z = null!, _out = null!, _m = null!, _v = null!;

    /// <summary>16 Ki floats (64 KiB per array: L2) and 4 Mi floats (16 MiB per array: past L2, in or beyond L3).</summary>
    [Params(16_384, 4_194_304)]
    public int N { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _x = new AlignedBuffer<float>(N);
        _y = new AlignedBuffer<float>(N);
        _z = new AlignedBuffer<float>(N);
        _out = new AlignedBuffer<float>(N);
        _m = new AlignedBuffer<float>(N);
        _v = new AlignedBuffer<float>(N);
        var rng = new Random(1);
        for (int i = 0; i < N; i++)
        {
            _x.Span[i] = (float)(rng.NextDouble() * 8 - 4);
            _y.Span[i] = (float)(rng.NextDouble() * 2 - 1);
            _z.Span[i] = (float)(rng.NextDouble() * 2 - 1) * 1e-3f;
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _x.Dispose(); _y.Dispose(); _z.Dispose(); _out.Dispose(); _m.Dispose(); _v.Dispose();
    }

    [Benchmark, BenchmarkCategory("GELU"), BytesPerElement(8)]
    public void Gelu_Ours() => Gelu.Forward(_out.Span, _x.Span);

    /// <summary>GELU composed from TensorPrimitives (there is no fused GELU there): 8 passes over the data.</summary>
    [Benchmark, BenchmarkCategory("GELU"), BytesPerElement(8)]
    public void Gelu_TensorPrimitivesComposed()
    {
        Span<float> x = _x.Span, o = _out.Span;
        TensorPrimitives.Multiply(x, x, o);                      // x²
        TensorPrimitives.Multiply(o, x, o);                      // x³
        TensorPrimitives.MultiplyAdd(o, Gelu.Cubic, x, o);       // x + c·x³
        TensorPrimitives.Multiply(o, Gelu.ScalingFactor, o);     // u
        TensorPrimitives.Tanh(o, o);
        TensorPrimitives.Add(o, 1f, o);
        TensorPrimitives.Multiply(o, x, o);
        TensorPrimitives.Multiply(o, 0.5f, o);
    }

    /// <summary>The nearest single TensorPrimitives op: one transcendental pass over the same bytes.</summary>
    [Benchmark, BenchmarkCategory("GELU"), BytesPerElement(8)]
    public void Tanh_TensorPrimitives() => TensorPrimitives.Tanh(_x.Span, _out.Span);

    [Benchmark, BenchmarkCategory("GELU backward"), BytesPerElement(16)]
    public void GeluBackward_Ours() => Gelu.Backward(_out.Span, _x.Span, _y.Span);

    [Benchmark, BenchmarkCategory("Add"), BytesPerElement(12)]
    public void ResidualForward_Ours() => Residual.Forward(_out.Span, _x.Span, _y.Span);

    [Benchmark, BenchmarkCategory("Add"), BytesPerElement(12)]
    public void Add_TensorPrimitives() => TensorPrimitives.Add(_x.Span, _y.Span, _out.Span);

    [Benchmark, BenchmarkCategory("AddTo"), BytesPerElement(12)]
    public void AddTo_Ours() => VectorMath.AddTo(_out.Span, _y.Span);

    [Benchmark, BenchmarkCategory("AddTo"), BytesPerElement(12)]
    public void AddInPlace_TensorPrimitives() => TensorPrimitives.Add(_out.Span, _y.Span, _out.Span);

    [Benchmark, BenchmarkCategory("Scale"), BytesPerElement(8)]
    public void Scale_Ours() => VectorMath.Scale(_out.Span, _x.Span, 0.999f);

    [Benchmark, BenchmarkCategory("Scale"), BytesPerElement(8)]
    public void Multiply_TensorPrimitives() => TensorPrimitives.Multiply(_x.Span, 0.999f, _out.Span);

    [Benchmark, BenchmarkCategory("SumOfSquares"), BytesPerElement(4)]
    public double SumOfSquares_Ours_Double() => VectorMath.SumOfSquares(_x.Span);

    [Benchmark, BenchmarkCategory("SumOfSquares"), BytesPerElement(4)]
    public float SumOfSquares_TensorPrimitives_Float() => TensorPrimitives.SumOfSquares(_x.Span);

    /// <summary>AdamW reads p, g, m, v and writes p, m, v: 28 bytes per parameter. No TensorPrimitives counterpart.</summary>
    [Benchmark, BenchmarkCategory("AdamW"), BytesPerElement(28)]
    public void AdamW_Ours() => AdamW.Update(_m.Span, _z.Span, _out.Span, _v.Span, new AdamWSettings(1e-4f, weightDecay: 0.1f), 10, 0.99998f);
}

/// <summary>Softmax over GPT-2's vocabulary (V = 50257 in rows of Vp = 50304), 4 rows.</summary>
[Config(typeof(KernelBenchmarkConfig))]
[CategoriesColumn]
public class SoftmaxBenchmarks
{
    private const int Rows = 4, V = 50257, Vp = 50304;
    public static readonly long ElementsPerOperation = (long)Rows * V;
    private AlignedBuffer<float> _logits = null!, _probs = null!;
    private readonly float[] _losses = new float[Rows];
    private readonly int[] _targets = [1, 50256, 7, 31000];

    [GlobalSetup]
    public void Setup()
    {
        _logits = new AlignedBuffer<float>(Rows * Vp);
        _probs = new AlignedBuffer<float>(Rows * Vp);
        var rng = new Random(2);
        for (int i = 0; i < Rows * Vp; i++) _logits.Span[i] = (float)(rng.NextDouble() * 20 - 10);
    }

    [GlobalCleanup]
    public void Cleanup() { _logits.Dispose(); _probs.Dispose(); }

    /// <summary>Softmax + cross-entropy (max, exp-sum, normalise, loss), 4 rows.</summary>
    [Benchmark, BenchmarkCategory("Softmax"), BytesPerElement(8)]
    public void SoftmaxCrossEntropy_Ours() => SoftmaxCrossEntropy.Forward(_losses, _probs.Span, _logits.Span, _targets, Rows, V, Vp);

    [Benchmark, BenchmarkCategory("Softmax"), BytesPerElement(8)]
    public void SoftMax_TensorPrimitives()
    {
        for (int r = 0; r < Rows; r++)
            TensorPrimitives.SoftMax(_logits.Span.Slice(r * Vp, V), _probs.Span.Slice(r * Vp, V));
    }
}

/// <summary>Our kernels at each forced width (scalar is the reference), to show what the vector paths buy.</summary>
[Config(typeof(KernelBenchmarkConfig))]
[CategoriesColumn]
public class KernelWidthBenchmarks
{
    public static readonly long ElementsPerOperation = 1 << 16;
    private AlignedBuffer<float> _x = null!, _out = null!;

    [Params(VectorWidth.Scalar, VectorWidth.V128, VectorWidth.V256, VectorWidth.V512)]
    public VectorWidth Width { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _x = new AlignedBuffer<float>(ElementsPerOperation);
        _out = new AlignedBuffer<float>(ElementsPerOperation);
        var rng = new Random(3);
        for (int i = 0; i < _x.Length; i++) _x.Span[i] = (float)(rng.NextDouble() * 8 - 4);
    }

    [GlobalCleanup]
    public void Cleanup() { _x.Dispose(); _out.Dispose(); }

    [Benchmark, BenchmarkCategory("GELU"), BytesPerElement(8)]
    public void Gelu_AtWidth() => Gelu.Forward(_out.Span, _x.Span, Width);

    [Benchmark, BenchmarkCategory("GELU backward"), BytesPerElement(16)]
    public void GeluBackward_AtWidth() => Gelu.Backward(_out.Span, _x.Span, _x.Span, Width);

    [Benchmark, BenchmarkCategory("SumOfSquares"), BytesPerElement(4)]
    public double SumOfSquares_AtWidth() => VectorMath.SumOfSquares(_x.Span, Width);
}
