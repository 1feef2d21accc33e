using System.Runtime.Intrinsics;

namespace Crystalline.Hpc.Kernels;

/// <summary>The SIMD width a kernel runs at. <see cref="Auto"/> picks the widest the hardware accelerates.</summary>
public enum VectorWidth
{
    /// <summary>The widest accelerated width: Vector512, then Vector256, then Vector128, then scalar.</summary>
    Auto = 0,
    /// <summary>The plain scalar reference path.</summary>
    Scalar = 1,
    /// <summary>Vector128 (SSE / NEON).</summary>
    V128 = 128,
    /// <summary>Vector256 (AVX2).</summary>
    V256 = 256,
    /// <summary>Vector512 (AVX-512).</summary>
    V512 = 512,
}

/// <summary>Resolves a requested <see cref="VectorWidth"/> to one this machine can run.</summary>
public static class KernelDispatch
{
    /// <summary>The width <see cref="VectorWidth.Auto"/> resolves to on this machine.</summary>
    public static VectorWidth Best { get; } =
        Vector512.IsHardwareAccelerated ? VectorWidth.V512 :
        Vector256.IsHardwareAccelerated ? VectorWidth.V256 :
        Vector128.IsHardwareAccelerated ? VectorWidth.V128 : VectorWidth.Scalar;

    /// <summary>
    /// Auto becomes <see cref="Best"/>. An explicit width is honoured when supported (the Vector types
    /// run in software otherwise, which is correct but slow); it is an error only for unknown values.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">width is not a defined value.</exception>
    public static VectorWidth Resolve(VectorWidth width) => width switch
    {
        VectorWidth.Auto => Best,
        VectorWidth.Scalar or VectorWidth.V128 or VectorWidth.V256 or VectorWidth.V512 => width,
        _ => throw new ArgumentOutOfRangeException(nameof(width), width, "unknown vector width"),
    };

    /// <summary>Every width this machine accelerates, scalar included (what tests sweep).</summary>
    public static IReadOnlyList<VectorWidth> Supported { get; } = BuildSupported();

    private static VectorWidth[] BuildSupported()
    {
        var list = new List<VectorWidth> { VectorWidth.Scalar };
        if (Vector128.IsHardwareAccelerated) list.Add(VectorWidth.V128);
        if (Vector256.IsHardwareAccelerated) list.Add(VectorWidth.V256);
        if (Vector512.IsHardwareAccelerated) list.Add(VectorWidth.V512);
        return list.ToArray();
    }
}
