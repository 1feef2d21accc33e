using Crystalline.Hpc.Kernels;
using Xunit;
using static Crystalline.Hpc.Tests.Kernels.TransformerKernelTestData;

namespace Crystalline.Hpc.Tests.Kernels;

/// <summary>The kernels run in the training step's steady state: after the first call they allocate nothing.</summary>
public class TransformerKernelAllocationTests
{
    [Theory]
    [MemberData(nameof(Widths), MemberType = typeof(TransformerKernelTestData))]
    public void No_kernel_allocates_managed_memory_after_warm_up(VectorWidth width)
    {
        const int B = 2, T = 5, C = 24, NH = 3, V = 37, Vp = 40, N = B * T * C;
        float[] x = Random(N, 1), y = Random(N, 2), z = new float[N], d = Random(N, 3);
        float[] w = Random(C, 4), bias = Random(C, 5), dw = new float[C], db = new float[C], mean = new float[B * T], rstd = new float[B * T];
        float[] qkv = Random(3 * N, 6), dqkv = new float[3 * N], att = new float[B * NH * T * T], pre = new float[att.Length];
        float[] dpre = new float[att.Length], datt = new float[att.Length];
        float[] wte = Random(V * C, 7), wpe = Random(T * C, 8), dwte = new float[V * C], dwpe = new float[T * C];
        float[] logits = Random(B * T * Vp, 9), probs = new float[logits.Length], dlogits = new float[logits.Length], losses = new float[B * T];
        float[] m = new float[N], v = new float[N];
        int[] tokens = RandomInts(B * T, 10, V);
        var settings = new AdamWSettings(1e-3f, weightDecay: 0.1f);

        void RunAll()
        {
            Embedding.Forward(z, tokens, wte, wpe, B, T, C, width);
            Embedding.Backward(dwte, dwpe, d, tokens, B, T, C, width);
            LayerNorm.Forward(z, mean, rstd, x, w, bias, B * T, C, width);
            LayerNorm.Backward(y, dw, db, d, x, w, mean, rstd, B * T, C, width);
            Attention.Forward(z, pre, att, qkv, B, T, C, NH, width);
            Attention.Backward(dqkv, dpre, datt, d, qkv, att, B, T, C, NH, width);
            Gelu.Forward(z, x, width);
            Gelu.Backward(y, x, d, width);
            Residual.Forward(z, x, d, width);
            Residual.Backward(y, z, d, width);
            SoftmaxCrossEntropy.Forward(losses, probs, logits, tokens, B * T, V, Vp, width);
            SoftmaxCrossEntropy.Backward(dlogits, probs, tokens, 0.1f, B * T, V, Vp, width);
            AdamW.Update(x, d, m, v, settings, 3, 0.5f, width);
            _ = VectorMath.SumOfSquares(d, width);
            VectorMath.Scale(y, 0.5f, width);
            VectorMath.AddTo(y, d, width);
        }

        RunAll();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 3; i++) RunAll();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
    }
}
