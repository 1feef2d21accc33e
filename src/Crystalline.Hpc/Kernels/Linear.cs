using System.Runtime.Intrinsics;
using Crystalline.Hpc.Scheduling;

namespace Crystalline.Hpc.Kernels;

/// <summary>
/// The fully connected layer in llm.c's layout: rows of <c>input</c> (R×C) times the transposed
/// weight (OC×C), plus a bias (OC). Built on <see cref="Sgemm"/>.
/// </summary>
public static class Linear
{
    /// <summary>
    /// output[r, o] = bias[o] + Σ_c input[r, c]·weight[o, c] (output = input·weightᵀ + bias). Output is
    /// overwritten. NaN in input, weight or bias propagates.
    /// </summary>
    /// <param name="output">R×OC, overwritten.</param>
    /// <param name="input">R×C.</param>
    /// <param name="weight">OC×C.</param>
    /// <param name="bias">OC, or empty for no bias.</param>
    /// <param name="rowCount">R.</param>
    /// <param name="channels">C.</param>
    /// <param name="outputChannels">OC.</param>
    /// <param name="width">Force a SIMD width (tests, benchmarks).</param>
    /// <exception cref="ArgumentOutOfRangeException">A dimension is negative or a width is unknown.</exception>
    /// <exception cref="ArgumentException">A span's length does not match the shape.</exception>
    public static void Forward(Span<float> output, ReadOnlySpan<float> input, ReadOnlySpan<float> weight,
        ReadOnlySpan<float> bias, int rowCount, int channels, int outputChannels, VectorWidth width = VectorWidth.Auto)
        => Forward(output, input, weight, bias, rowCount, channels, outputChannels, null, width);

    /// <summary>As <see cref="Forward(Span{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, int, int, int, VectorWidth)"/>,
    /// with the GEMM split across <paramref name="executor"/>'s workers (null: calling thread). Same result for any worker count.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A dimension is negative or a width is unknown.</exception>
    /// <exception cref="ArgumentException">A span's length does not match the shape.</exception>
    public static void Forward(Span<float> output, ReadOnlySpan<float> input, ReadOnlySpan<float> weight,
        ReadOnlySpan<float> bias, int rowCount, int channels, int outputChannels, ISphereExecutor? executor,
        VectorWidth width = VectorWidth.Auto)
        => Forward(output, input, weight, bias, rowCount, channels, outputChannels, executor, width, Gemm.GemmPrecision.Fp32);

    /// <summary>The forward at <paramref name="precision"/> (bf16: input and weight rounded to bf16 for the product; the bias and the sum stay fp32).</summary>
    internal static void Forward(Span<float> output, ReadOnlySpan<float> input, ReadOnlySpan<float> weight,
        ReadOnlySpan<float> bias, int rowCount, int channels, int outputChannels, ISphereExecutor? executor,
        VectorWidth width, Gemm.GemmPrecision precision)
    {
        CheckDims(rowCount, channels, outputChannels);
        KernelDispatch.Resolve(width);
        CheckLength(output.Length, (long)rowCount * outputChannels, nameof(output));
        CheckLength(input.Length, (long)rowCount * channels, nameof(input));
        CheckLength(weight.Length, (long)outputChannels * channels, nameof(weight));
        if (!bias.IsEmpty) CheckLength(bias.Length, outputChannels, nameof(bias));
        if (rowCount == 0 || outputChannels == 0) return;

        float beta = StartAtBias(output, bias, rowCount, outputChannels);
        Sgemm.Multiply(false, true, rowCount, outputChannels, channels, 1f,
            input, Math.Max(1, channels), weight, Math.Max(1, channels), beta, output, outputChannels, executor, width, precision);
    }

    /// <summary>As <see cref="Forward(Span{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, int, int, int, VectorWidth)"/>
    /// on the calling thread, with the weight given as its pre-packed forward operand (op(B) = weightᵀ, k = C,
    /// n = OC): the same bits at the operand's width.</summary>
    /// <exception cref="ArgumentException">a span's length or the operand's shape does not match.</exception>
    internal static void Forward(Span<float> output, ReadOnlySpan<float> input, Gemm.PackedOperand weight,
        ReadOnlySpan<float> bias, int rowCount, int channels, int outputChannels)
    {
        ArgumentNullException.ThrowIfNull(weight);
        CheckDims(rowCount, channels, outputChannels);
        CheckLength(output.Length, (long)rowCount * outputChannels, nameof(output));
        CheckLength(input.Length, (long)rowCount * channels, nameof(input));
        if (!weight.TransB || weight.K != channels || weight.N != outputChannels)
            throw new ArgumentException($"the packed weight is op(B) {weight.K}×{weight.N} (transB {weight.TransB}), a forward of {channels} → {outputChannels} channels needs {channels}×{outputChannels} (transB True)", nameof(weight));
        if (!bias.IsEmpty) CheckLength(bias.Length, outputChannels, nameof(bias));
        if (rowCount == 0 || outputChannels == 0) return;
        float beta = StartAtBias(output, bias, rowCount, outputChannels);
        Sgemm.MultiplyPacked(false, rowCount, outputChannels, channels, 1f, input, Math.Max(1, channels), weight, 0, beta, output, outputChannels);
    }

    // Starts every output row at the bias (the GEMM then accumulates onto it: β = 1), or returns β = 0.
    private static float StartAtBias(Span<float> output, ReadOnlySpan<float> bias, int rowCount, int outputChannels)
    {
        if (bias.IsEmpty) return 0f;
        for (int r = 0; r < rowCount; r++) bias.CopyTo(output.Slice(r * outputChannels, outputChannels));
        return 1f;
    }

    /// <summary>
    /// Accumulates the gradients (+=, as llm.c): dinput += doutput·weight, dweight += doutputᵀ·input,
    /// dbias[o] += Σ_r doutput[r, o] (skipped when dbias is empty).
    /// </summary>
    /// <param name="dinput">R×C, accumulated.</param>
    /// <param name="dweight">OC×C, accumulated.</param>
    /// <param name="dbias">OC, accumulated; or empty when the layer has no bias.</param>
    /// <param name="doutput">R×OC.</param>
    /// <param name="input">R×C (the forward input).</param>
    /// <param name="weight">OC×C.</param>
    /// <param name="rowCount">R.</param>
    /// <param name="channels">C.</param>
    /// <param name="outputChannels">OC.</param>
    /// <param name="width">Force a SIMD width (tests, benchmarks).</param>
    /// <exception cref="ArgumentOutOfRangeException">A dimension is negative or a width is unknown.</exception>
    /// <exception cref="ArgumentException">A span's length does not match the shape.</exception>
    public static void Backward(Span<float> dinput, Span<float> dweight, Span<float> dbias,
        ReadOnlySpan<float> doutput, ReadOnlySpan<float> input, ReadOnlySpan<float> weight,
        int rowCount, int channels, int outputChannels, VectorWidth width = VectorWidth.Auto)
        => Backward(dinput, dweight, dbias, doutput, input, weight, rowCount, channels, outputChannels, null, width);

    /// <summary>As <see cref="Backward(Span{float}, Span{float}, Span{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, int, int, int, VectorWidth)"/>,
    /// with the GEMMs split across <paramref name="executor"/>'s workers (null: calling thread). Same result for any worker count.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A dimension is negative or a width is unknown.</exception>
    /// <exception cref="ArgumentException">A span's length does not match the shape.</exception>
    public static void Backward(Span<float> dinput, Span<float> dweight, Span<float> dbias,
        ReadOnlySpan<float> doutput, ReadOnlySpan<float> input, ReadOnlySpan<float> weight,
        int rowCount, int channels, int outputChannels, ISphereExecutor? executor, VectorWidth width = VectorWidth.Auto)
        => Backward(dinput, dweight, dbias, doutput, input, weight, rowCount, channels, outputChannels, executor, width, Gemm.GemmPrecision.Fp32);

    /// <summary>The backward at <paramref name="precision"/> (both GEMMs; the bias sum stays fp32).</summary>
    internal static void Backward(Span<float> dinput, Span<float> dweight, Span<float> dbias,
        ReadOnlySpan<float> doutput, ReadOnlySpan<float> input, ReadOnlySpan<float> weight,
        int rowCount, int channels, int outputChannels, ISphereExecutor? executor, VectorWidth width, Gemm.GemmPrecision precision)
    {
        CheckDims(rowCount, channels, outputChannels);
        VectorWidth resolved = KernelDispatch.Resolve(width);
        CheckLength(dinput.Length, (long)rowCount * channels, nameof(dinput));
        CheckLength(dweight.Length, (long)outputChannels * channels, nameof(dweight));
        if (!dbias.IsEmpty) CheckLength(dbias.Length, outputChannels, nameof(dbias));
        CheckLength(doutput.Length, (long)rowCount * outputChannels, nameof(doutput));
        CheckLength(input.Length, (long)rowCount * channels, nameof(input));
        CheckLength(weight.Length, (long)outputChannels * channels, nameof(weight));

        int c1 = Math.Max(1, channels), oc1 = Math.Max(1, outputChannels);
        // dinput (R×C) += doutput (R×OC) · weight (OC×C)
        Sgemm.Multiply(false, false, rowCount, channels, outputChannels, 1f,
            doutput, oc1, weight, c1, 1f, dinput, c1, executor, width, precision);
        // dweight (OC×C) += doutputᵀ (OC×R) · input (R×C)
        Sgemm.Multiply(true, false, outputChannels, channels, rowCount, 1f,
            doutput, oc1, input, c1, 1f, dweight, c1, executor, width, precision);
        if (!dbias.IsEmpty)
            for (int r = 0; r < rowCount; r++)
                AddTo(dbias, doutput.Slice(r * outputChannels, outputChannels), resolved);
    }

    /// <summary>dst[i] += src[i], rows in order (so the bias sum is the same at every width).</summary>
    private static void AddTo(Span<float> dst, ReadOnlySpan<float> src, VectorWidth width)
    {
        int i = 0;
        if (width == VectorWidth.V512)
            for (; i + 16 <= dst.Length; i += 16)
                (Vector512.Create(dst.Slice(i, 16)) + Vector512.Create(src.Slice(i, 16))).CopyTo(dst.Slice(i, 16));
        if (width >= VectorWidth.V256)
            for (; i + 8 <= dst.Length; i += 8)
                (Vector256.Create(dst.Slice(i, 8)) + Vector256.Create(src.Slice(i, 8))).CopyTo(dst.Slice(i, 8));
        if (width >= VectorWidth.V128)
            for (; i + 4 <= dst.Length; i += 4)
                (Vector128.Create(dst.Slice(i, 4)) + Vector128.Create(src.Slice(i, 4))).CopyTo(dst.Slice(i, 4));
        for (; i < dst.Length; i++) dst[i] += src[i];
    }

    private static void CheckDims(int rowCount, int channels, int outputChannels)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rowCount);
        ArgumentOutOfRangeException.ThrowIfNegative(channels);
        ArgumentOutOfRangeException.ThrowIfNegative(outputChannels);
    }

    private static void CheckLength(int actual, long expected, string name)
    {
        if (actual != expected)
            throw new ArgumentException($"{name} has {actual} elements; the shape needs {expected}", name);
    }
}
