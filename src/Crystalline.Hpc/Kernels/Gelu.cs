using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Crystalline.Hpc.Kernels;

/// <summary>
/// GELU in GPT-2's tanh form: gelu(x) = ½·x·(1 + tanh(u)), u = √(2/π)·(x + 0.044715·x³).
/// </summary>
/// <remarks>
/// The scalar path is the reference and evaluates that formula as written (llm.c's form) with
/// <see cref="MathF.Tanh"/>; for x ≪ 0 its 1 + tanh(u) cancels, so its error there is a few ulp of |x|,
/// not of the (tiny) result. The vector paths use the identity ½(1 + tanh u) = σ(2u) = 1/(1 + e^(−2u)),
/// so one <see cref="VectorExp"/> call serves both directions and nothing cancels: gelu(x) = x/(1 + e^(−2u)),
/// relative error ≤ (1e−6 + 3e−7·|2u|) against the exact value (the exponential inherits the rounding of
/// its argument 2u). e^(−2u) is capped at e^80 so that σ(1 − σ) = e·σ² stays finite for very negative x;
/// results below ~1e−33 in magnitude are therefore only approximately 0. The backward is finite for
/// |x| ≲ 1e12. NaN in gives NaN out.
/// </remarks>
internal static class Gelu
{
    internal const float ScalingFactor = 0.7978845608028654f; // √(2/π)
    internal const float Cubic = 0.044715f;
    private const float MaxExponent = 80f;

    /// <summary>output[i] = gelu(input[i]) for i &lt; input.Length.</summary>
    /// <exception cref="ArgumentException">output is shorter than input, or overlaps it at an offset.</exception>
    public static void Forward(Span<float> output, ReadOnlySpan<float> input, VectorWidth width = VectorWidth.Auto) =>
        ElementwiseDriver.Unary<ForwardOperator>(input, output, width);

    /// <summary>
    /// dinput[i] += gelu′(input[i]) · doutput[i] (accumulates, as every backward kernel does), where
    /// gelu′(x) = ½(1 + tanh u) + ½·x·(1 − tanh²u)·√(2/π)·(1 + 3·0.044715·x²).
    /// </summary>
    /// <exception cref="ArgumentException">input and doutput differ in length, dinput is shorter, or dinput overlaps an input at an offset.</exception>
    public static void Backward(Span<float> dinput, ReadOnlySpan<float> input, ReadOnlySpan<float> doutput, VectorWidth width = VectorWidth.Auto)
    {
        ElementwiseDriver.CheckSameLength(input.Length, doutput.Length, nameof(doutput));
        ElementwiseDriver.CheckDestination(input.Length, dinput, nameof(dinput));
        Span<float> d = dinput[..input.Length];
        ElementwiseDriver.Ternary<BackwardOperator>(input, doutput, d, d, width);
    }

    internal readonly struct ForwardOperator : IUnaryOperator
    {
        public static float Invoke(float x)
        {
            float u = ScalingFactor * (x + Cubic * x * x * x);
            return 0.5f * x * (1f + MathF.Tanh(u));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> Invoke(Vector128<float> x)
        {
            Vector128<float> a = Vector128.Min(Vector128.Create(-2f * ScalingFactor) * x * (Vector128<float>.One + Vector128.Create(Cubic) * x * x), Vector128.Create(MaxExponent));
            return x / (Vector128<float>.One + VectorExp.Exp(a));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Invoke(Vector256<float> x)
        {
            Vector256<float> a = Vector256.Min(Vector256.Create(-2f * ScalingFactor) * x * (Vector256<float>.One + Vector256.Create(Cubic) * x * x), Vector256.Create(MaxExponent));
            return x / (Vector256<float>.One + VectorExp.Exp(a));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Invoke(Vector512<float> x)
        {
            Vector512<float> a = Vector512.Min(Vector512.Create(-2f * ScalingFactor) * x * (Vector512<float>.One + Vector512.Create(Cubic) * x * x), Vector512.Create(MaxExponent));
            return x / (Vector512<float>.One + VectorExp.Exp(a));
        }
    }

    /// <summary>(x, dout, dinput) → dinput + gelu′(x)·dout.</summary>
    internal readonly struct BackwardOperator : ITernaryOperator
    {
        public static float Invoke(float x, float dout, float dinput)
        {
            // Differentiates: out = ½·x·(1 + tanh(s·(x + c·x³))).
            float u = ScalingFactor * (x + Cubic * x * x * x);
            float tanhU = MathF.Tanh(u);
            float sech2 = 1f - tanhU * tanhU;
            float local = 0.5f * (1f + tanhU) + 0.5f * x * sech2 * ScalingFactor * (1f + 3f * Cubic * x * x);
            return dinput + local * dout;
        }

        // With σ = 1/(1 + e), e = e^(−2u): ½(1 + tanh u) = σ and ½·sech²u = 2σ(1 − σ) = 2·e·σ², so
        // gelu′(x) = σ + 2·x·e·σ²·s·(1 + 3c·x²). e·σ ≤ 1 is formed first so that a huge e cannot overflow.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> Invoke(Vector128<float> x, Vector128<float> dout, Vector128<float> dinput)
        {
            Vector128<float> x2 = x * x;
            Vector128<float> a = Vector128.Min(Vector128.Create(-2f * ScalingFactor) * x * (Vector128<float>.One + Vector128.Create(Cubic) * x2), Vector128.Create(MaxExponent));
            Vector128<float> e = VectorExp.Exp(a);
            Vector128<float> sigma = Vector128<float>.One / (Vector128<float>.One + e);
            Vector128<float> dudx = Vector128.Create(ScalingFactor) * (Vector128<float>.One + Vector128.Create(3f * Cubic) * x2);
            Vector128<float> local = sigma + e * sigma * sigma * (Vector128.Create(2f) * x * dudx);
            return dinput + local * dout;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Invoke(Vector256<float> x, Vector256<float> dout, Vector256<float> dinput)
        {
            Vector256<float> x2 = x * x;
            Vector256<float> a = Vector256.Min(Vector256.Create(-2f * ScalingFactor) * x * (Vector256<float>.One + Vector256.Create(Cubic) * x2), Vector256.Create(MaxExponent));
            Vector256<float> e = VectorExp.Exp(a);
            Vector256<float> sigma = Vector256<float>.One / (Vector256<float>.One + e);
            Vector256<float> dudx = Vector256.Create(ScalingFactor) * (Vector256<float>.One + Vector256.Create(3f * Cubic) * x2);
            Vector256<float> local = sigma + e * sigma * sigma * (Vector256.Create(2f) * x * dudx);
            return dinput + local * dout;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Invoke(Vector512<float> x, Vector512<float> dout, Vector512<float> dinput)
        {
            Vector512<float> x2 = x * x;
            Vector512<float> a = Vector512.Min(Vector512.Create(-2f * ScalingFactor) * x * (Vector512<float>.One + Vector512.Create(Cubic) * x2), Vector512.Create(MaxExponent));
            Vector512<float> e = VectorExp.Exp(a);
            Vector512<float> sigma = Vector512<float>.One / (Vector512<float>.One + e);
            Vector512<float> dudx = Vector512.Create(ScalingFactor) * (Vector512<float>.One + Vector512.Create(3f * Cubic) * x2);
            Vector512<float> local = sigma + e * sigma * sigma * (Vector512.Create(2f) * x * dudx);
            return dinput + local * dout;
        }
    }
}
