using Crystalline.Hpc.Scheduling;
using Xunit;

namespace Crystalline.Hpc.Tests.Scheduling;

public class ThreadAllocationTests
{
    // Expected tables written out by hand from LATTICE_MATH.md's rule, not computed by the same code.
    [Theory]
    [InlineData(1, "0,1,2,3,4,5,6,7,8,9,10,11")]
    [InlineData(2, "0,2,4,6,8,10|1,3,5,7,9,11")]
    [InlineData(3, "0,3,6,9|1,4,7,10|2,5,8,11")]
    [InlineData(4, "0,4,8|1,5,9|2,6,10|3,7,11")]
    [InlineData(6, "0,6|1,7|2,8|3,9|4,10|5,11")]
    [InlineData(8, "0,8|1,9|2,10|3,11|4|5|6|7")]
    [InlineData(12, "0|1|2|3|4|5|6|7|8|9|10|11")]
    public void Table_matches_the_rule(int n, string expected)
    {
        var alloc = new ThreadAllocation(n);
        string actual = string.Join("|", Enumerable.Range(0, n).Select(t => string.Join(",", alloc.GroupsOf(t).ToArray())));
        Assert.Equal(expected, actual);
        Assert.True(alloc.Validate(out string? problem), problem);
    }

    [Theory]
    [InlineData(16)]
    [InlineData(24)]
    [InlineData(48)]
    public void Above_twelve_threads_one_group_each_and_extras_own_none(int n)
    {
        var alloc = new ThreadAllocation(n);
        for (int t = 0; t < 12; t++) Assert.Equal(new[] { t }, alloc.GroupsOf(t).ToArray());
        for (int t = 12; t < n; t++) Assert.Equal(0, alloc.GroupsOf(t).Length);
        for (int g = 0; g < 12; g++) Assert.Equal(g, alloc.OwnerOf(g));
        Assert.Equal(1.0, alloc.LoadBalanceFactor);
        Assert.True(alloc.Validate(out _));
    }

    [Theory]
    [InlineData(1, 1.0)]
    [InlineData(5, 2.0 / 3.0)]
    [InlineData(8, 0.5)]
    [InlineData(7, 0.5)]
    [InlineData(12, 1.0)]
    public void Load_factor_is_min_over_max(int n, double expected)
        => Assert.Equal(expected, new ThreadAllocation(n).LoadBalanceFactor, 12);

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    public void Bad_thread_count_is_rejected(int n)
        => Assert.Throws<ArgumentOutOfRangeException>(() => new ThreadAllocation(n));

    [Fact]
    public void Describe_names_every_thread()
    {
        string text = new ThreadAllocation(16).Describe();
        Assert.Contains("thread  15", text);
        Assert.Contains("groups 0, 1", new ThreadAllocation(11).Describe());
    }
}
