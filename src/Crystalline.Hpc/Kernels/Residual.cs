namespace Crystalline.Hpc.Kernels;

/// <summary>The residual connection: output = a + b, elementwise.</summary>
/// <remarks>Plain IEEE additions, so every width gives bitwise the same result. NaN propagates.</remarks>
internal static class Residual
{
    /// <summary>output[i] = a[i] + b[i] for i &lt; a.Length.</summary>
    /// <exception cref="ArgumentException">a and b differ in length, output is shorter, or output overlaps an input at an offset.</exception>
    public static void Forward(Span<float> output, ReadOnlySpan<float> a, ReadOnlySpan<float> b, VectorWidth width = VectorWidth.Auto) =>
        ElementwiseDriver.Binary<AddOperator>(a, b, output, width);

    /// <summary>da[i] += doutput[i]; db[i] += doutput[i] (accumulates). Both checked before either is written.</summary>
    /// <exception cref="ArgumentException">da or db is shorter than doutput, or overlaps it at an offset.</exception>
    public static void Backward(Span<float> da, Span<float> db, ReadOnlySpan<float> doutput, VectorWidth width = VectorWidth.Auto)
    {
        // Differentiates: output = a + b, so ∂/∂a = ∂/∂b = 1.
        int n = doutput.Length;
        ElementwiseDriver.CheckDestination(n, da, nameof(da));
        ElementwiseDriver.CheckDestination(n, db, nameof(db));
        ElementwiseDriver.CheckAliasing(doutput, da, nameof(da));
        ElementwiseDriver.CheckAliasing(doutput, db, nameof(db));
        if (da[..n].Overlaps(db[..n]))
            throw new ArgumentException("da and db overlap", nameof(db));
        VectorMath.AddTo(da[..n], doutput, width);
        VectorMath.AddTo(db[..n], doutput, width);
    }
}
