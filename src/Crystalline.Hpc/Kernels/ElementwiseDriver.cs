using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Crystalline.Hpc.Kernels;

/// <summary>An elementwise operator f(x) at every width; the scalar form is the reference the vector forms are tested against.</summary>
internal interface IUnaryOperator
{
    static abstract float Invoke(float x);
    static abstract Vector128<float> Invoke(Vector128<float> x);
    static abstract Vector256<float> Invoke(Vector256<float> x);
    static abstract Vector512<float> Invoke(Vector512<float> x);
}

/// <summary>An elementwise operator f(x, y) at every width.</summary>
internal interface IBinaryOperator
{
    static abstract float Invoke(float x, float y);
    static abstract Vector128<float> Invoke(Vector128<float> x, Vector128<float> y);
    static abstract Vector256<float> Invoke(Vector256<float> x, Vector256<float> y);
    static abstract Vector512<float> Invoke(Vector512<float> x, Vector512<float> y);
}

/// <summary>An elementwise operator f(x, y, z) at every width.</summary>
internal interface ITernaryOperator
{
    static abstract float Invoke(float x, float y, float z);
    static abstract Vector128<float> Invoke(Vector128<float> x, Vector128<float> y, Vector128<float> z);
    static abstract Vector256<float> Invoke(Vector256<float> x, Vector256<float> y, Vector256<float> z);
    static abstract Vector512<float> Invoke(Vector512<float> x, Vector512<float> y, Vector512<float> z);
}

/// <summary>
/// The one driver behind every elementwise kernel, in the manner of TensorPrimitives: it validates the
/// spans, resolves the width, runs a 4× unrolled vector loop, then single vectors, then the remainder.
/// The remainder (fewer than one vector of elements) is copied into a zero-padded register-sized
/// temporary and run through the same vector operator, so every element of a call sees the same
/// arithmetic whatever the length — and an exactly aliased destination (x and destination the same
/// memory, e.g. <c>dst += src</c>) is never read after it was written.
/// </summary>
internal static class ElementwiseDriver
{
    // The per-width loops are NoInlining on purpose: with dynamic PGO the JIT otherwise inlines them into
    // the public kernel, runs out of inlining budget there, and leaves the operator's Invoke as a call per
    // vector (seen in the Tier-1 disassembly: GELU 3–4× slower). Compiled on their own, they inline it.
    private const int Unroll = 4;

    public static void Unary<TOp>(ReadOnlySpan<float> x, Span<float> destination, VectorWidth width)
        where TOp : IUnaryOperator
    {
        CheckDestination(x.Length, destination, nameof(destination));
        CheckAliasing(x, destination, nameof(destination));
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float dr = ref MemoryMarshal.GetReference(destination);
        nuint n = (nuint)x.Length;
        switch (KernelDispatch.Resolve(width))
        {
            case VectorWidth.V512: Unary512<TOp>(ref xr, ref dr, n); break;
            case VectorWidth.V256: Unary256<TOp>(ref xr, ref dr, n); break;
            case VectorWidth.V128: Unary128<TOp>(ref xr, ref dr, n); break;
            default:
                for (nuint i = 0; i < n; i++) Unsafe.Add(ref dr, i) = TOp.Invoke(Unsafe.Add(ref xr, i));
                break;
        }
    }

    public static void Binary<TOp>(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> destination, VectorWidth width)
        where TOp : IBinaryOperator
    {
        CheckSameLength(x.Length, y.Length, nameof(y));
        CheckDestination(x.Length, destination, nameof(destination));
        CheckAliasing(x, destination, nameof(destination));
        CheckAliasing(y, destination, nameof(destination));
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        ref float dr = ref MemoryMarshal.GetReference(destination);
        nuint n = (nuint)x.Length;
        switch (KernelDispatch.Resolve(width))
        {
            case VectorWidth.V512: Binary512<TOp>(ref xr, ref yr, ref dr, n); break;
            case VectorWidth.V256: Binary256<TOp>(ref xr, ref yr, ref dr, n); break;
            case VectorWidth.V128: Binary128<TOp>(ref xr, ref yr, ref dr, n); break;
            default:
                for (nuint i = 0; i < n; i++) Unsafe.Add(ref dr, i) = TOp.Invoke(Unsafe.Add(ref xr, i), Unsafe.Add(ref yr, i));
                break;
        }
    }

    /// <summary>f(x[i], y) with a scalar second operand broadcast to every lane.</summary>
    public static void BinaryScalar<TOp>(ReadOnlySpan<float> x, float y, Span<float> destination, VectorWidth width)
        where TOp : IBinaryOperator
    {
        CheckDestination(x.Length, destination, nameof(destination));
        CheckAliasing(x, destination, nameof(destination));
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float dr = ref MemoryMarshal.GetReference(destination);
        nuint n = (nuint)x.Length;
        switch (KernelDispatch.Resolve(width))
        {
            case VectorWidth.V512: BinaryScalar512<TOp>(ref xr, y, ref dr, n); break;
            case VectorWidth.V256: BinaryScalar256<TOp>(ref xr, y, ref dr, n); break;
            case VectorWidth.V128: BinaryScalar128<TOp>(ref xr, y, ref dr, n); break;
            default:
                for (nuint i = 0; i < n; i++) Unsafe.Add(ref dr, i) = TOp.Invoke(Unsafe.Add(ref xr, i), y);
                break;
        }
    }

    public static void Ternary<TOp>(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> z, Span<float> destination, VectorWidth width)
        where TOp : ITernaryOperator
    {
        CheckSameLength(x.Length, y.Length, nameof(y));
        CheckSameLength(x.Length, z.Length, nameof(z));
        CheckDestination(x.Length, destination, nameof(destination));
        CheckAliasing(x, destination, nameof(destination));
        CheckAliasing(y, destination, nameof(destination));
        CheckAliasing(z, destination, nameof(destination));
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        ref float zr = ref MemoryMarshal.GetReference(z);
        ref float dr = ref MemoryMarshal.GetReference(destination);
        nuint n = (nuint)x.Length;
        switch (KernelDispatch.Resolve(width))
        {
            case VectorWidth.V512: Ternary512<TOp>(ref xr, ref yr, ref zr, ref dr, n); break;
            case VectorWidth.V256: Ternary256<TOp>(ref xr, ref yr, ref zr, ref dr, n); break;
            case VectorWidth.V128: Ternary128<TOp>(ref xr, ref yr, ref zr, ref dr, n); break;
            default:
                for (nuint i = 0; i < n; i++)
                    Unsafe.Add(ref dr, i) = TOp.Invoke(Unsafe.Add(ref xr, i), Unsafe.Add(ref yr, i), Unsafe.Add(ref zr, i));
                break;
        }
    }

    internal static void CheckDestination(int length, Span<float> destination, string name)
    {
        if (destination.Length < length)
            throw new ArgumentException($"destination is too short: {destination.Length} < {length}", name);
    }

    internal static void CheckSameLength(int expected, int actual, string name)
    {
        if (actual != expected)
            throw new ArgumentException($"length {actual} does not match the first input's {expected}", name);
    }

    /// <summary>Exact aliasing is fine (each element is read before it is written); a shifted overlap is not.</summary>
    internal static void CheckAliasing(ReadOnlySpan<float> input, Span<float> destination, string name)
    {
        if (input.Overlaps(destination, out int offset) && offset != 0)
            throw new ArgumentException("destination partially overlaps an input", name);
    }

    // ---- remainder helpers: the tail goes through a zero-padded register and the same vector operator ----

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> LoadPartial512(ref float src, nuint count) => PartialVector.Load512(ref src, count, 0f);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StorePartial512(Vector512<float> v, ref float dst, nuint count) => PartialVector.Store(v, ref dst, count);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> LoadPartial256(ref float src, nuint count) => PartialVector.Load256(ref src, count, 0f);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StorePartial256(Vector256<float> v, ref float dst, nuint count) => PartialVector.Store(v, ref dst, count);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> LoadPartial128(ref float src, nuint count) => PartialVector.Load128(ref src, count, 0f);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StorePartial128(Vector128<float> v, ref float dst, nuint count) => PartialVector.Store(v, ref dst, count);

    // ---- unary ----

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Unary512<TOp>(ref float x, ref float d, nuint n) where TOp : IUnaryOperator
    {
        nuint w = (nuint)Vector512<float>.Count, i = 0;
        for (; i + Unroll * w <= n; i += Unroll * w)
        {
            Vector512<float> a0 = Vector512.LoadUnsafe(ref x, i), a1 = Vector512.LoadUnsafe(ref x, i + w);
            Vector512<float> a2 = Vector512.LoadUnsafe(ref x, i + 2 * w), a3 = Vector512.LoadUnsafe(ref x, i + 3 * w);
            TOp.Invoke(a0).StoreUnsafe(ref d, i);
            TOp.Invoke(a1).StoreUnsafe(ref d, i + w);
            TOp.Invoke(a2).StoreUnsafe(ref d, i + 2 * w);
            TOp.Invoke(a3).StoreUnsafe(ref d, i + 3 * w);
        }
        for (; i + w <= n; i += w) TOp.Invoke(Vector512.LoadUnsafe(ref x, i)).StoreUnsafe(ref d, i);
        if (i < n) StorePartial512(TOp.Invoke(LoadPartial512(ref Unsafe.Add(ref x, i), n - i)), ref Unsafe.Add(ref d, i), n - i);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Unary256<TOp>(ref float x, ref float d, nuint n) where TOp : IUnaryOperator
    {
        nuint w = (nuint)Vector256<float>.Count, i = 0;
        for (; i + Unroll * w <= n; i += Unroll * w)
        {
            Vector256<float> a0 = Vector256.LoadUnsafe(ref x, i), a1 = Vector256.LoadUnsafe(ref x, i + w);
            Vector256<float> a2 = Vector256.LoadUnsafe(ref x, i + 2 * w), a3 = Vector256.LoadUnsafe(ref x, i + 3 * w);
            TOp.Invoke(a0).StoreUnsafe(ref d, i);
            TOp.Invoke(a1).StoreUnsafe(ref d, i + w);
            TOp.Invoke(a2).StoreUnsafe(ref d, i + 2 * w);
            TOp.Invoke(a3).StoreUnsafe(ref d, i + 3 * w);
        }
        for (; i + w <= n; i += w) TOp.Invoke(Vector256.LoadUnsafe(ref x, i)).StoreUnsafe(ref d, i);
        if (i < n) StorePartial256(TOp.Invoke(LoadPartial256(ref Unsafe.Add(ref x, i), n - i)), ref Unsafe.Add(ref d, i), n - i);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Unary128<TOp>(ref float x, ref float d, nuint n) where TOp : IUnaryOperator
    {
        nuint w = (nuint)Vector128<float>.Count, i = 0;
        for (; i + Unroll * w <= n; i += Unroll * w)
        {
            Vector128<float> a0 = Vector128.LoadUnsafe(ref x, i), a1 = Vector128.LoadUnsafe(ref x, i + w);
            Vector128<float> a2 = Vector128.LoadUnsafe(ref x, i + 2 * w), a3 = Vector128.LoadUnsafe(ref x, i + 3 * w);
            TOp.Invoke(a0).StoreUnsafe(ref d, i);
            TOp.Invoke(a1).StoreUnsafe(ref d, i + w);
            TOp.Invoke(a2).StoreUnsafe(ref d, i + 2 * w);
            TOp.Invoke(a3).StoreUnsafe(ref d, i + 3 * w);
        }
        for (; i + w <= n; i += w) TOp.Invoke(Vector128.LoadUnsafe(ref x, i)).StoreUnsafe(ref d, i);
        if (i < n) StorePartial128(TOp.Invoke(LoadPartial128(ref Unsafe.Add(ref x, i), n - i)), ref Unsafe.Add(ref d, i), n - i);
    }

    // ---- binary ----

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Binary512<TOp>(ref float x, ref float y, ref float d, nuint n) where TOp : IBinaryOperator
    {
        nuint w = (nuint)Vector512<float>.Count, i = 0;
        for (; i + Unroll * w <= n; i += Unroll * w)
        {
            Vector512<float> r0 = TOp.Invoke(Vector512.LoadUnsafe(ref x, i), Vector512.LoadUnsafe(ref y, i));
            Vector512<float> r1 = TOp.Invoke(Vector512.LoadUnsafe(ref x, i + w), Vector512.LoadUnsafe(ref y, i + w));
            Vector512<float> r2 = TOp.Invoke(Vector512.LoadUnsafe(ref x, i + 2 * w), Vector512.LoadUnsafe(ref y, i + 2 * w));
            Vector512<float> r3 = TOp.Invoke(Vector512.LoadUnsafe(ref x, i + 3 * w), Vector512.LoadUnsafe(ref y, i + 3 * w));
            r0.StoreUnsafe(ref d, i);
            r1.StoreUnsafe(ref d, i + w);
            r2.StoreUnsafe(ref d, i + 2 * w);
            r3.StoreUnsafe(ref d, i + 3 * w);
        }
        for (; i + w <= n; i += w) TOp.Invoke(Vector512.LoadUnsafe(ref x, i), Vector512.LoadUnsafe(ref y, i)).StoreUnsafe(ref d, i);
        if (i < n)
        {
            nuint c = n - i;
            StorePartial512(TOp.Invoke(LoadPartial512(ref Unsafe.Add(ref x, i), c), LoadPartial512(ref Unsafe.Add(ref y, i), c)), ref Unsafe.Add(ref d, i), c);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Binary256<TOp>(ref float x, ref float y, ref float d, nuint n) where TOp : IBinaryOperator
    {
        nuint w = (nuint)Vector256<float>.Count, i = 0;
        for (; i + Unroll * w <= n; i += Unroll * w)
        {
            Vector256<float> r0 = TOp.Invoke(Vector256.LoadUnsafe(ref x, i), Vector256.LoadUnsafe(ref y, i));
            Vector256<float> r1 = TOp.Invoke(Vector256.LoadUnsafe(ref x, i + w), Vector256.LoadUnsafe(ref y, i + w));
            Vector256<float> r2 = TOp.Invoke(Vector256.LoadUnsafe(ref x, i + 2 * w), Vector256.LoadUnsafe(ref y, i + 2 * w));
            Vector256<float> r3 = TOp.Invoke(Vector256.LoadUnsafe(ref x, i + 3 * w), Vector256.LoadUnsafe(ref y, i + 3 * w));
            r0.StoreUnsafe(ref d, i);
            r1.StoreUnsafe(ref d, i + w);
            r2.StoreUnsafe(ref d, i + 2 * w);
            r3.StoreUnsafe(ref d, i + 3 * w);
        }
        for (; i + w <= n; i += w) TOp.Invoke(Vector256.LoadUnsafe(ref x, i), Vector256.LoadUnsafe(ref y, i)).StoreUnsafe(ref d, i);
        if (i < n)
        {
            nuint c = n - i;
            StorePartial256(TOp.Invoke(LoadPartial256(ref Unsafe.Add(ref x, i), c), LoadPartial256(ref Unsafe.Add(ref y, i), c)), ref Unsafe.Add(ref d, i), c);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Binary128<TOp>(ref float x, ref float y, ref float d, nuint n) where TOp : IBinaryOperator
    {
        nuint w = (nuint)Vector128<float>.Count, i = 0;
        for (; i + Unroll * w <= n; i += Unroll * w)
        {
            Vector128<float> r0 = TOp.Invoke(Vector128.LoadUnsafe(ref x, i), Vector128.LoadUnsafe(ref y, i));
            Vector128<float> r1 = TOp.Invoke(Vector128.LoadUnsafe(ref x, i + w), Vector128.LoadUnsafe(ref y, i + w));
            Vector128<float> r2 = TOp.Invoke(Vector128.LoadUnsafe(ref x, i + 2 * w), Vector128.LoadUnsafe(ref y, i + 2 * w));
            Vector128<float> r3 = TOp.Invoke(Vector128.LoadUnsafe(ref x, i + 3 * w), Vector128.LoadUnsafe(ref y, i + 3 * w));
            r0.StoreUnsafe(ref d, i);
            r1.StoreUnsafe(ref d, i + w);
            r2.StoreUnsafe(ref d, i + 2 * w);
            r3.StoreUnsafe(ref d, i + 3 * w);
        }
        for (; i + w <= n; i += w) TOp.Invoke(Vector128.LoadUnsafe(ref x, i), Vector128.LoadUnsafe(ref y, i)).StoreUnsafe(ref d, i);
        if (i < n)
        {
            nuint c = n - i;
            StorePartial128(TOp.Invoke(LoadPartial128(ref Unsafe.Add(ref x, i), c), LoadPartial128(ref Unsafe.Add(ref y, i), c)), ref Unsafe.Add(ref d, i), c);
        }
    }

    // ---- binary with a broadcast scalar ----

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void BinaryScalar512<TOp>(ref float x, float y, ref float d, nuint n) where TOp : IBinaryOperator
    {
        nuint w = (nuint)Vector512<float>.Count, i = 0;
        Vector512<float> yv = Vector512.Create(y);
        for (; i + Unroll * w <= n; i += Unroll * w)
        {
            Vector512<float> r0 = TOp.Invoke(Vector512.LoadUnsafe(ref x, i), yv);
            Vector512<float> r1 = TOp.Invoke(Vector512.LoadUnsafe(ref x, i + w), yv);
            Vector512<float> r2 = TOp.Invoke(Vector512.LoadUnsafe(ref x, i + 2 * w), yv);
            Vector512<float> r3 = TOp.Invoke(Vector512.LoadUnsafe(ref x, i + 3 * w), yv);
            r0.StoreUnsafe(ref d, i);
            r1.StoreUnsafe(ref d, i + w);
            r2.StoreUnsafe(ref d, i + 2 * w);
            r3.StoreUnsafe(ref d, i + 3 * w);
        }
        for (; i + w <= n; i += w) TOp.Invoke(Vector512.LoadUnsafe(ref x, i), yv).StoreUnsafe(ref d, i);
        if (i < n) StorePartial512(TOp.Invoke(LoadPartial512(ref Unsafe.Add(ref x, i), n - i), yv), ref Unsafe.Add(ref d, i), n - i);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void BinaryScalar256<TOp>(ref float x, float y, ref float d, nuint n) where TOp : IBinaryOperator
    {
        nuint w = (nuint)Vector256<float>.Count, i = 0;
        Vector256<float> yv = Vector256.Create(y);
        for (; i + Unroll * w <= n; i += Unroll * w)
        {
            Vector256<float> r0 = TOp.Invoke(Vector256.LoadUnsafe(ref x, i), yv);
            Vector256<float> r1 = TOp.Invoke(Vector256.LoadUnsafe(ref x, i + w), yv);
            Vector256<float> r2 = TOp.Invoke(Vector256.LoadUnsafe(ref x, i + 2 * w), yv);
            Vector256<float> r3 = TOp.Invoke(Vector256.LoadUnsafe(ref x, i + 3 * w), yv);
            r0.StoreUnsafe(ref d, i);
            r1.StoreUnsafe(ref d, i + w);
            r2.StoreUnsafe(ref d, i + 2 * w);
            r3.StoreUnsafe(ref d, i + 3 * w);
        }
        for (; i + w <= n; i += w) TOp.Invoke(Vector256.LoadUnsafe(ref x, i), yv).StoreUnsafe(ref d, i);
        if (i < n) StorePartial256(TOp.Invoke(LoadPartial256(ref Unsafe.Add(ref x, i), n - i), yv), ref Unsafe.Add(ref d, i), n - i);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void BinaryScalar128<TOp>(ref float x, float y, ref float d, nuint n) where TOp : IBinaryOperator
    {
        nuint w = (nuint)Vector128<float>.Count, i = 0;
        Vector128<float> yv = Vector128.Create(y);
        for (; i + Unroll * w <= n; i += Unroll * w)
        {
            Vector128<float> r0 = TOp.Invoke(Vector128.LoadUnsafe(ref x, i), yv);
            Vector128<float> r1 = TOp.Invoke(Vector128.LoadUnsafe(ref x, i + w), yv);
            Vector128<float> r2 = TOp.Invoke(Vector128.LoadUnsafe(ref x, i + 2 * w), yv);
            Vector128<float> r3 = TOp.Invoke(Vector128.LoadUnsafe(ref x, i + 3 * w), yv);
            r0.StoreUnsafe(ref d, i);
            r1.StoreUnsafe(ref d, i + w);
            r2.StoreUnsafe(ref d, i + 2 * w);
            r3.StoreUnsafe(ref d, i + 3 * w);
        }
        for (; i + w <= n; i += w) TOp.Invoke(Vector128.LoadUnsafe(ref x, i), yv).StoreUnsafe(ref d, i);
        if (i < n) StorePartial128(TOp.Invoke(LoadPartial128(ref Unsafe.Add(ref x, i), n - i), yv), ref Unsafe.Add(ref d, i), n - i);
    }

    // ---- ternary ----

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Ternary512<TOp>(ref float x, ref float y, ref float z, ref float d, nuint n) where TOp : ITernaryOperator
    {
        nuint w = (nuint)Vector512<float>.Count, i = 0;
        for (; i + 2 * w <= n; i += 2 * w)
        {
            Vector512<float> r0 = TOp.Invoke(Vector512.LoadUnsafe(ref x, i), Vector512.LoadUnsafe(ref y, i), Vector512.LoadUnsafe(ref z, i));
            Vector512<float> r1 = TOp.Invoke(Vector512.LoadUnsafe(ref x, i + w), Vector512.LoadUnsafe(ref y, i + w), Vector512.LoadUnsafe(ref z, i + w));
            r0.StoreUnsafe(ref d, i);
            r1.StoreUnsafe(ref d, i + w);
        }
        for (; i + w <= n; i += w)
            TOp.Invoke(Vector512.LoadUnsafe(ref x, i), Vector512.LoadUnsafe(ref y, i), Vector512.LoadUnsafe(ref z, i)).StoreUnsafe(ref d, i);
        if (i < n)
        {
            nuint c = n - i;
            StorePartial512(TOp.Invoke(LoadPartial512(ref Unsafe.Add(ref x, i), c), LoadPartial512(ref Unsafe.Add(ref y, i), c),
                LoadPartial512(ref Unsafe.Add(ref z, i), c)), ref Unsafe.Add(ref d, i), c);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Ternary256<TOp>(ref float x, ref float y, ref float z, ref float d, nuint n) where TOp : ITernaryOperator
    {
        nuint w = (nuint)Vector256<float>.Count, i = 0;
        for (; i + 2 * w <= n; i += 2 * w)
        {
            Vector256<float> r0 = TOp.Invoke(Vector256.LoadUnsafe(ref x, i), Vector256.LoadUnsafe(ref y, i), Vector256.LoadUnsafe(ref z, i));
            Vector256<float> r1 = TOp.Invoke(Vector256.LoadUnsafe(ref x, i + w), Vector256.LoadUnsafe(ref y, i + w), Vector256.LoadUnsafe(ref z, i + w));
            r0.StoreUnsafe(ref d, i);
            r1.StoreUnsafe(ref d, i + w);
        }
        for (; i + w <= n; i += w)
            TOp.Invoke(Vector256.LoadUnsafe(ref x, i), Vector256.LoadUnsafe(ref y, i), Vector256.LoadUnsafe(ref z, i)).StoreUnsafe(ref d, i);
        if (i < n)
        {
            nuint c = n - i;
            StorePartial256(TOp.Invoke(LoadPartial256(ref Unsafe.Add(ref x, i), c), LoadPartial256(ref Unsafe.Add(ref y, i), c),
                LoadPartial256(ref Unsafe.Add(ref z, i), c)), ref Unsafe.Add(ref d, i), c);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Ternary128<TOp>(ref float x, ref float y, ref float z, ref float d, nuint n) where TOp : ITernaryOperator
    {
        nuint w = (nuint)Vector128<float>.Count, i = 0;
        for (; i + 2 * w <= n; i += 2 * w)
        {
            Vector128<float> r0 = TOp.Invoke(Vector128.LoadUnsafe(ref x, i), Vector128.LoadUnsafe(ref y, i), Vector128.LoadUnsafe(ref z, i));
            Vector128<float> r1 = TOp.Invoke(Vector128.LoadUnsafe(ref x, i + w), Vector128.LoadUnsafe(ref y, i + w), Vector128.LoadUnsafe(ref z, i + w));
            r0.StoreUnsafe(ref d, i);
            r1.StoreUnsafe(ref d, i + w);
        }
        for (; i + w <= n; i += w)
            TOp.Invoke(Vector128.LoadUnsafe(ref x, i), Vector128.LoadUnsafe(ref y, i), Vector128.LoadUnsafe(ref z, i)).StoreUnsafe(ref d, i);
        if (i < n)
        {
            nuint c = n - i;
            StorePartial128(TOp.Invoke(LoadPartial128(ref Unsafe.Add(ref x, i), c), LoadPartial128(ref Unsafe.Add(ref y, i), c),
                LoadPartial128(ref Unsafe.Add(ref z, i), c)), ref Unsafe.Add(ref d, i), c);
        }
    }
}
