namespace Crystalline.Hpc.Primes;

/// <summary>Analytic estimates that let the n-th prime search start close to the answer.</summary>
internal static class PrimeBounds
{
    private const double EulerGamma = 0.57721566490153286061;

    /// <summary>Dusart (1999): p_n ≥ n(ln n + ln ln n − 1) for n ≥ 2; slightly lowered for rounding.</summary>
    public static double NthPrimeLowerBound(long n)
    {
        if (n < 2) return 2;
        double ln = Math.Log(n);
        return Math.Max(2, n * (ln + Math.Log(ln) - 1) * (1 - 1e-12) - 1);
    }

    /// <summary>The logarithmic integral li(x) for x &gt; 1 (Ramanujan's series).</summary>
    public static double Li(double x)
    {
        if (x <= 1) return double.NegativeInfinity;
        double l = Math.Log(x);
        double term = l, sum = 0, inner = 0;
        for (int n = 1; n < 500; n++)
        {
            if ((n & 1) == 1) inner += 1.0 / n;
            double add = term * inner;
            sum += add;
            if (Math.Abs(add) < 1e-17 * Math.Abs(sum)) break;
            term *= -l / (2.0 * (n + 1));
        }
        return EulerGamma + Math.Log(l) + Math.Sqrt(x) * sum;
    }

    /// <summary>x with li(x) = n (Newton's method); p_n lies just above it for every n where that has been checked.</summary>
    public static double InverseLi(long n)
    {
        if (n < 2) return 2;
        double ln = Math.Log(n);
        double x = n * (ln + Math.Log(ln));
        for (int i = 0; i < 100; i++)
        {
            double step = (Li(x) - n) * Math.Log(x);
            x -= step;
            if (x < 2) x = 2;
            if (Math.Abs(step) < 1e-6 * Math.Max(1, Math.Sqrt(x))) break;
        }
        return x;
    }
}
