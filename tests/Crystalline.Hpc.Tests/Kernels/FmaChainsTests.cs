using Crystalline.Hpc.Kernels;
using Xunit;

namespace Crystalline.Hpc.Tests.Kernels;

public class FmaChainsTests
{
    [Theory]
    [InlineData(VectorWidth.V512, 16)]
    [InlineData(VectorWidth.V256, 8)]
    [InlineData(VectorWidth.V128, 4)]
    public void Flops_count_two_per_lane_per_chain_per_iteration(VectorWidth width, int lanes)
        => Assert.Equal(10.0 * FmaChains.Chains * lanes * 2, FmaChains.Flops(10, width));

    [Theory]
    [InlineData(VectorWidth.V512, 16)]
    [InlineData(VectorWidth.V256, 8)]
    [InlineData(VectorWidth.V128, 4)]
    public void Every_width_computes_the_same_recurrence(VectorWidth width, int lanes)
    {
        // Each lane runs a <- a·0.999999 + 1e-7 from 1; the sum is 12 chains × lanes × that value.
        float a = 1f;
        for (int i = 0; i < 100; i++) a = MathF.FusedMultiplyAdd(a, 0.999999f, 1e-7f);
        Assert.Equal(FmaChains.Chains * lanes * a, FmaChains.Run(100, width), 3);
    }
}
