using Crystalline.Hpc.Kernels;
using Xunit;
using static Crystalline.Hpc.Tests.Kernels.TransformerKernelTestData;

namespace Crystalline.Hpc.Tests.Kernels;

public class EmbeddingTests
{
    [Theory]
    [MemberData(nameof(Widths), MemberType = typeof(TransformerKernelTestData))]
    public void Forward_and_backward_equal_a_hand_written_reference(VectorWidth width)
    {
        foreach (int c in AwkwardSizes)
        {
            const int B = 2, T = 5, V = 7, MaxT = 6;
            int[] tokens = RandomInts(B * T, c, V);
            tokens[3] = tokens[4]; // a repeated token: its gradient rows must add up
            float[] wte = Random(V * c, 1), wpe = Random(MaxT * c, 2);
            var output = new float[B * T * c];
            Embedding.Forward(output, tokens, wte, wpe, B, T, c, width);
            for (int bt = 0; bt < B * T; bt++)
                for (int i = 0; i < c; i++)
                    Assert.Equal(wte[tokens[bt] * c + i] + wpe[bt % T * c + i], output[bt * c + i]);

            float[] dout = Random(B * T * c, 3);
            float[] dwte = Random(V * c, 4), dwpe = Random(MaxT * c, 5);
            float[] dwteE = (float[])dwte.Clone(), dwpeE = (float[])dwpe.Clone();
            for (int bt = 0; bt < B * T; bt++)
                for (int i = 0; i < c; i++)
                {
                    dwteE[tokens[bt] * c + i] += dout[bt * c + i];
                    dwpeE[bt % T * c + i] += dout[bt * c + i];
                }
            Embedding.Backward(dwte, dwpe, dout, tokens, B, T, c, width);
            Assert.Equal(dwteE, dwte);
            Assert.Equal(dwpeE, dwpe);
        }
    }

    [Fact]
    public void Backward_matches_central_differences()
    {
        const int B = 2, T = 3, C = 5, V = 4;
        int[] tokens = [1, 1, 3, 0, 1, 2];
        float[] wte = Random(V * C, 1), wpe = Random(T * C, 2), r = Random(B * T * C, 3);
        var output = new float[B * T * C];
        double Loss() { Embedding.Forward(output, tokens, wte, wpe, B, T, C, VectorWidth.Scalar); return Dot(output, r); }
        float[] dwte = new float[V * C], dwpe = new float[T * C];
        Embedding.Backward(dwte, dwpe, r, tokens, B, T, C);
        CheckGradient("dwte", wte, dwte, Loss, 1e-2f, 1e-3, 1e-5);
        CheckGradient("dwpe", wpe, dwpe, Loss, 1e-2f, 1e-3, 1e-5);
    }

    [Fact]
    public void Bad_shapes_and_tokens_are_rejected_before_any_write()
    {
        const int B = 1, T = 2, C = 3, V = 4;
        float[] wte = Random(V * C, 1), wpe = Random(T * C, 2);
        var output = new float[B * T * C];
        AssertRejected(() => Embedding.Forward(output, [0, 4], wte, wpe, B, T, C), output);
        AssertRejected(() => Embedding.Forward(output, [0, -1], wte, wpe, B, T, C), output);
        AssertRejected(() => Embedding.Forward(output, [0, 1, 2], wte, wpe, B, T, C), output);
        AssertRejected(() => Embedding.Forward(output, [0, 1], wte, wpe.AsSpan(0, C), B, T, C), output);
        AssertRejected(() => Embedding.Forward(output, [0, 1], wte.AsSpan(1), wpe, B, T, C), output);
        AssertRejected(() => Embedding.Forward(output.AsSpan(1), [0, 1], wte, wpe, B, T, C), output);
        float[] dwte = new float[V * C], dwpe = new float[T * C];
        AssertRejected(() => Embedding.Backward(dwte, dwpe, output, [3, 9], B, T, C), dwte, dwpe);
    }
}
