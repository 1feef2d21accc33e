using Crystalline.Hpc.Kernels;
using Crystalline.Hpc.Kernels.Gemm;
using Xunit;

namespace Crystalline.Hpc.Tests.Kernels;

/// <summary>
/// Several products sharing one B (pre-packed, or packed block by block inside), computed a column range at a time for all of them
/// (<see cref="BlockedGemm{TK}.ComputeColumnsOfParts"/>, the trainer's lockstep products), must give
/// each part the bits of its own <see cref="Sgemm.MultiplyPacked"/>.
/// </summary>
public unsafe class SharedOperandGemmTests
{
    public static TheoryData<VectorWidth, bool, int, int, bool> Cases()
    {
        var data = new TheoryData<VectorWidth, bool, int, int, bool>();
        int kc = GemmBlocking.KC;
        foreach (VectorWidth w in KernelDispatch.Supported)
        {
            if (w == VectorWidth.Scalar) continue;
            foreach (var (n, k) in new[] { (1, 1), (70, 33), (200, kc + 17), (256, 2 * kc + 3), (63, kc) })
            {
                data.Add(w, false, n, k, true);
                data.Add(w, false, n, k, false);
            }
        }
        foreach (var (n, k) in new[] { (70, 33), (200, GemmBlocking.KCBf16 + 18) })
            data.Add(VectorWidth.Auto, true, n, k, true);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Every_part_gets_the_bits_of_its_own_product(VectorWidth width, bool bf16, int n, int k, bool transB)
    {
        GemmPrecision precision = bf16 ? GemmPrecision.Bf16 : GemmPrecision.Fp32;
        if (precision == GemmPrecision.Bf16 && !SphereSupportsBf16()) return;
        int[] rows = [1, 5, 6, 13, 64];
        var rng = new Random(n * 31 + k);
        float[] b = Fill(rng, k * n);
        using var packed = new PackedOperand(k, n, transB, width, precision);
        packed.Pack(b, transB ? k : n);
        float[][] a = Array.ConvertAll(rows, m => Fill(rng, m * k));
        float[][] c0 = Array.ConvertAll(rows, m => Fill(rng, m * n));
        fixed (float* pb = b)
        foreach (bool prepacked in new[] { true, false })
        foreach (float beta in new[] { 0f, 1f })
        {
            var expected = new float[rows.Length][];
            for (int g = 0; g < rows.Length; g++)
            {
                expected[g] = (float[])c0[g].Clone();
                Sgemm.MultiplyPacked(false, rows[g], n, k, 1f, a[g], k, packed, 0, beta, expected[g], n);
            }
            float[][] actual = Array.ConvertAll(c0, c => (float[])c.Clone());
            var handles = new System.Runtime.InteropServices.GCHandle[2 * rows.Length];
            try
            {
                var parts = new GemmArgs[rows.Length];
                for (int g = 0; g < rows.Length; g++)
                {
                    handles[2 * g] = System.Runtime.InteropServices.GCHandle.Alloc(a[g], System.Runtime.InteropServices.GCHandleType.Pinned);
                    handles[2 * g + 1] = System.Runtime.InteropServices.GCHandle.Alloc(actual[g], System.Runtime.InteropServices.GCHandleType.Pinned);
                    // B as stored (packed block by block inside) or pre-packed: both must give the bits.
                    parts[g] = new GemmArgs(false, transB, rows[g], n, k, 1f, (float*)handles[2 * g].AddrOfPinnedObject(), k, pb, transB ? k : n, beta,
                        (float*)handles[2 * g + 1].AddrOfPinnedObject(), n) { PackedB = prepacked ? packed.Data : null, PackedNPad = prepacked ? packed.PaddedColumns : 0 };
                }
                // Uneven column ranges at panel boundaries, in reverse order: any split gives the same bits.
                int nr = packed.PanelWidth, split = Math.Min(n, nr);
                SgemmDriver.ComputeColumnsOfParts(parts, split, n, packed.Width, precision);
                SgemmDriver.ComputeColumnsOfParts(parts, 0, split, packed.Width, precision);
            }
            finally
            {
                foreach (var h in handles) if (h.IsAllocated) h.Free();
            }
            for (int g = 0; g < rows.Length; g++) Assert.Equal(expected[g], actual[g]);
        }
    }

    [Fact]
    public void Parts_of_different_operands_are_refused()
    {
        using var one = new PackedOperand(8, 8, false);
        using var other = new PackedOperand(8, 8, false);
        float* a = stackalloc float[64], c = stackalloc float[64];
        var parts = new[]
        {
            new GemmArgs(false, false, 8, 8, 8, 1f, a, 8, null, 1, 0f, c, 8) { PackedB = one.Data, PackedNPad = one.PaddedColumns },
            new GemmArgs(false, false, 8, 8, 8, 1f, a, 8, null, 1, 0f, c, 8) { PackedB = other.Data, PackedNPad = other.PaddedColumns },
        };
        Assert.Throws<ArgumentException>(() => SgemmDriver.ComputeColumnsOfParts(parts, 0, 8, one.Width, GemmPrecision.Fp32));
    }

    private static bool SphereSupportsBf16() => SgemmDriver.PanelWidth(KernelDispatch.Best, GemmPrecision.Bf16) != 0;

    private static float[] Fill(Random rng, int count)
    {
        var x = new float[count];
        for (int i = 0; i < count; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        return x;
    }
}
