namespace Crystalline.Hpc.Kernels;

/// <summary>Shape checks shared by the kernels: every one runs before the kernel writes anything.</summary>
internal static class KernelShape
{
    public static void Positive(int value, string name)
    {
        if (value <= 0) throw new ArgumentException($"{name} must be positive (was {value})", name);
    }

    /// <summary>a·b, as an ArgumentException rather than a wrap-around when it does not fit in an int.</summary>
    public static int Product(int a, int b, string what)
    {
        long p = (long)a * b;
        if (p > int.MaxValue) throw new ArgumentException($"{what} = {p} elements does not fit in a span", what);
        return (int)p;
    }

    public static int Product(int a, int b, int c, string what) => Product(Product(a, b, what), c, what);

    public static int Product(int a, int b, int c, int d, string what) => Product(Product(a, b, c, what), d, what);

    public static void Length<T>(ReadOnlySpan<T> span, int expected, string name)
    {
        if (span.Length != expected)
            throw new ArgumentException($"{name} has length {span.Length}, expected {expected}", name);
    }

    public static void Length<T>(Span<T> span, int expected, string name) => Length((ReadOnlySpan<T>)span, expected, name);
}
