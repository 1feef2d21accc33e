using Crystalline.Hpc.Lattice;
using Xunit;

namespace Crystalline.Hpc.Tests.Lattice;

/// <summary>
/// Values pasted from reference_values.py (beside this file), which computes every definition
/// independently with mpmath at 60 digits; rerun it to regenerate them.
/// </summary>
public class LatticeReferenceTests
{
    private static double AngularDistance(double a, double b)
    {
        double d = Math.Abs(a - b) % Math.Tau;
        return Math.Min(d, Math.Tau - d);
    }

    [Theory]
    [InlineData(0L, 0, 0L, 12, -1.5707963267948966, 0.25)]
    [InlineData(3L, 0, 3L, 12, 0.0, 0.25)]
    [InlineData(11L, 0, 11L, 12, 4.188790204786391, 0.25)]
    [InlineData(12L, 1, 0L, 60, -1.5707963267948966, 0.5)]
    [InlineData(27L, 1, 15L, 60, 0.0, 0.5)]
    [InlineData(71L, 1, 59L, 60, 4.60766922526503, 0.5)]
    [InlineData(72L, 2, 0L, 60, -1.5707963267948966, 0.75)]
    [InlineData(100L, 2, 28L, 60, 1.3613568165555772, 0.75)]
    [InlineData(131L, 2, 59L, 60, 4.60766922526503, 0.75)]
    [InlineData(132L, 3, 0L, 100, -1.5707963267948966, 1.0)]
    [InlineData(157L, 3, 25L, 100, 0.0, 1.0)]
    [InlineData(231L, 3, 99L, 100, 4.649557127312894, 1.0)]
    [InlineData(232L, 4, 0L, 1000, 0.0, 1.25)]
    [InlineData(1232L, 4, 1000L, 1000, 6.283185307179586, 1.25)]
    [InlineData(50256L, 4, 50024L, 1000, 314.31006180635165, 1.25)]
    public void Clock_from_index(long index, int ring, long pos, int size, double angle, double radius)
    {
        ClockPosition c = BabylonianClock.FromIndex(index);
        Assert.Equal(ring, c.Ring);
        Assert.Equal(pos, c.Position);
        Assert.Equal(size, c.RingSize);
        Assert.Equal(angle, c.Angle, 1e-12);
        Assert.Equal(radius, c.Radius);
    }

    [Theory]
    [InlineData(2L, 1L, 1, "", 4.055308618069962)]
    [InlineData(3L, 2L, 1, "a", 0.4772616853302905)]
    [InlineData(5L, 3L, 2, "e", 5.310905744051869)]
    [InlineData(7L, 4L, 3, "i", 3.879753792278329)]
    [InlineData(11L, 5L, 4, "o", 1.82678581748257)]
    [InlineData(13L, 6L, 5, "u", 0.00790890803615277)]
    [InlineData(97L, 25L, 7, "sun", 0.6729324340600095)]
    [InlineData(143999L, 13343L, 1, "", 1.223688465646335)]
    [InlineData(143999L, 13343L, 12, "Zeta", 1.442314358078778)]
    [InlineData(144001L, 13344L, 3, "f", 0.9179172818454207)]
    [InlineData(144013L, 13344L, 2, "token", 0.30770650870032545)]
    [InlineData(1000003L, 78499L, 24, "k", 5.422812737860645)]
    [InlineData(2038074743L, 100000000L, 100, "p", 0.47827223264676966)]
    [InlineData(4601L, 626L, 0, "m", 3.6567038817670885)]
    [InlineData(4601L, 626L, -5, "l", 3.3320443566391265)]
    [InlineData(65L, 18L, 1, "w", 4.366946103149555)]
    [InlineData(104729L, 10000L, 9, " hello", 3.744433274628584)]
    [InlineData(999999937L, 50847534L, 1000000, "x", 6.094431548013856)]
    [InlineData(3L, 9223372036854775807L, 2147483647, "y", 4.558320419196684)]
    [InlineData(0L, 0L, 1, "b", 0.6381223205931255)]
    public void Theta_matches_the_reference(long p, long k, int n, string token, double expected)
    {
        double theta = AngularPosition.Theta(p, k, n, token);
        Assert.InRange(theta, 0.0, Math.BitDecrement(Math.Tau));
        // 1e-12 absolute: the reference takes k·π(1+√5) literally at 60 digits, even for k = 2^63 − 1.
        Assert.True(AngularDistance(expected, theta) < 1e-12, $"θ = {theta:R}, expected {expected:R}");
    }

    [Theory]
    [InlineData(0L, 1.0416666666666666e-05, 0.0)]
    [InlineData(2L, 1.041673900513198e-05, 0.16755160819145565)]
    [InlineData(143999L, 4.166637731682419e-05, -1.4670141413505438)]
    [InlineData(144000L, 2.0833333333333333e-05, -1.466675260745011)]
    [InlineData(144001L, 4.166637731682419e-05, -1.4663363801394784)]
    [InlineData(144013L, 2.0831452716074245e-05, -1.4622698128730875)]
    [InlineData(288000L, 1.0416666666666666e-05, -2.933350521490022)]
    [InlineData(1000000000000L, 3e-12, 3.0692416443085873)]
    public void Omega_and_psi_match_the_reference(long p, double omega, double psi)
    {
        Assert.Equal(omega, AngularPosition.Omega(p), omega * 1e-14);
        Assert.Equal(psi, AngularPosition.Psi(p), 1e-13);
    }

    [Theory]
    [InlineData(0, 0, 0.0)]
    [InlineData(1, 0, -0.007227810809851373)]
    [InlineData(2, 5, -0.004065534493672589)]
    [InlineData(3, 1, 0.0)]
    [InlineData(5, 11, -0.005502835424128959)]
    [InlineData(7, 12, -0.013274111104132763)]
    [InlineData(11, 767, -0.011853358498244605)]
    [InlineData(12, 0, 0.0)]
    [InlineData(13, 3, 0.006631489312760429)]
    [InlineData(40, 7, -0.008396950135263665)]
    [InlineData(71, 100, 0.06774225686615702)]
    [InlineData(72, 2, 0.0)]
    [InlineData(100, 63, 0.05767513075503261)]
    [InlineData(131, 9, 0.13121967541375332)]
    [InlineData(132, 0, 0.0)]
    [InlineData(150, 14, -0.1407244445566849)]
    [InlineData(231, 5, 0.0)]
    [InlineData(232, 0, -0.34395155292802826)]
    [InlineData(233, 1, -0.5529645203542977)]
    [InlineData(240, 2, 0.009134453987798058)]
    [InlineData(250, 23, -0.19030998040267058)]
    [InlineData(300, 4, -0.20070614939271308)]
    [InlineData(482, 0, 0.0)]
    [InlineData(1000, 3, -0.17615038528465818)]
    [InlineData(3000, 10, -0.9712533239181719)]
    [InlineData(50256, 767, 1.0)]
    public void Lattice_embedding_matches_the_reference(int token, int column, double expected)
    {
        double e = LatticeEmbedding.ValueDouble(token, column);
        if (expected == 0.0) Assert.Equal(0.0, e); // exact zeros stay exact (a cosine of an odd multiple of π/2)
        else Assert.Equal(expected, e, 1e-13);
        Assert.Equal((float)e, LatticeEmbedding.Value(token, column));
    }
}
