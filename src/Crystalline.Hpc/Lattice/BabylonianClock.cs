namespace Crystalline.Hpc.Lattice;

/// <summary>A position on the Babylonian clock.</summary>
/// <param name="Ring">Ring 0–4.</param>
/// <param name="Position">Position within the ring (for ring 4 it grows without bound: i − 232).</param>
/// <param name="RingSize">The ring's size: 12, 60, 60, 100 or 1000.</param>
/// <param name="Angle">The angle in radians exactly as the ring's formula gives it (not reduced; may be negative).</param>
/// <param name="Radius">0.25, 0.50, 0.75, 1.00 or 1.25.</param>
public readonly record struct ClockPosition(int Ring, long Position, int RingSize, double Angle, double Radius);

/// <summary>Hour and minute read from an angle.</summary>
/// <param name="Hour">⌊θ/2π · 12⌋ mod 12.</param>
/// <param name="Minute">frac(θ/2π · 12) · 60, in [0, 60).</param>
public readonly record struct ClockTime(int Hour, double Minute);

/// <summary>The Babylonian clock: rings of 12, 60, 60, 100 and 1000 positions (docs/lattice-math.md).</summary>
public static class BabylonianClock
{
    /// <summary>
    /// The clock position of index <paramref name="index"/> ≥ 0:
    /// 0–11 ring 0, angle (pos − 3)·2π/12, radius 0.25;
    /// 12–71 ring 1, pos = i − 12, angle (pos − 15)·2π/60, radius 0.50;
    /// 72–131 ring 2, pos = i − 72, angle (pos − 15)·2π/60, radius 0.75;
    /// 132–231 ring 3, pos = i − 132, angle (pos − 25)·2π/100, radius 1.00;
    /// ≥ 232 ring 4, pos = i − 232, angle pos·2π/1000, radius 1.25.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is negative.</exception>
    public static ClockPosition FromIndex(long index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        if (index < 12) return Make(0, index, 12, index - 3, 0.25);
        if (index < 72) return Make(1, index - 12, 60, index - 12 - 15, 0.50);
        if (index < 132) return Make(2, index - 72, 60, index - 72 - 15, 0.75);
        if (index < 232) return Make(3, index - 132, 100, index - 132 - 25, 1.00);
        return Make(4, index - 232, 1000, index - 232, 1.25);
    }

    /// <summary>
    /// Hour = ⌊θ/2π · 12⌋ mod 12 and minute = frac(θ/2π · 12) · 60. Angles outside [0, 2π) are
    /// accepted and read modulo 2π (the floor and frac make that automatic).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="theta"/> is NaN or infinite.</exception>
    public static ClockTime FromAngle(double theta)
    {
        if (!double.IsFinite(theta)) throw new ArgumentException($"BabylonianClock.FromAngle: angle {theta} is not finite", nameof(theta));
        double x = theta / Math.Tau * 12.0;
        double floor = Math.Floor(x);
        double minute = (x - floor) * 60.0;
        long hour = (long)(floor % 12.0);
        if (hour < 0) hour += 12;
        // Rounding can push frac·60 to exactly 60 for x just below an integer; that reading is the next hour at minute 0.
        if (minute >= 60.0) { minute = 0.0; hour = (hour + 1) % 12; }
        return new ClockTime((int)hour, minute);
    }

    /// <summary>A prime's (or any integer's) symmetry group: n mod 12. Primes above 3 lie only in groups 1, 5, 7 and 11.</summary>
    public static int SymmetryGroup(long n) => LatticeConstants.SymmetryGroupOf(n);

    private static ClockPosition Make(int ring, long pos, int ringSize, long offsetPos, double radius) =>
        new(ring, pos, ringSize, offsetPos * Math.Tau / ringSize, radius);
}
