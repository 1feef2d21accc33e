// TEMPORARY: scalar stand-ins with the signatures of docs/internal-contracts.md, so the trainer
// builds and runs before the Kernels area lands on main. Delete this file when merging main brings
// the real Crystalline.Hpc.Kernels types (the duplicate type names make that merge fail to compile
// until it is deleted, so it cannot linger by accident).
#pragma warning disable CA1062
namespace Crystalline.Hpc.Kernels;

internal readonly record struct AdamWSettings(float LearningRate, float Beta1, float Beta2, float Epsilon, float WeightDecay);

internal static class Embedding
{
    public static void Forward(Span<float> output, ReadOnlySpan<int> tokens, ReadOnlySpan<float> wte, ReadOnlySpan<float> wpe, int B, int T, int C, VectorWidth width = VectorWidth.Auto)
    {
        for (int r = 0; r < B * T; r++)
            for (int c = 0; c < C; c++) output[r * C + c] = wte[tokens[r] * C + c] + wpe[(r % T) * C + c];
    }
    public static void Backward(Span<float> dwte, Span<float> dwpe, ReadOnlySpan<float> doutput, ReadOnlySpan<int> tokens, int B, int T, int C, VectorWidth width = VectorWidth.Auto)
    {
        for (int r = 0; r < B * T; r++)
            for (int c = 0; c < C; c++) { dwte[tokens[r] * C + c] += doutput[r * C + c]; dwpe[(r % T) * C + c] += doutput[r * C + c]; }
    }
}

internal static class LayerNorm
{
    public static void Forward(Span<float> output, Span<float> mean, Span<float> rstd, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, int R, int C, VectorWidth width = VectorWidth.Auto)
    {
        for (int r = 0; r < R; r++)
        {
            var x = input.Slice(r * C, C);
            float m = 0; for (int c = 0; c < C; c++) m += x[c]; m /= C;
            float v = 0; for (int c = 0; c < C; c++) { float d = x[c] - m; v += d * d; } v /= C;
            float s = 1f / MathF.Sqrt(v + 1e-5f);
            for (int c = 0; c < C; c++) output[r * C + c] = (x[c] - m) * s * weight[c] + bias[c];
            mean[r] = m; rstd[r] = s;
        }
    }
    public static void Backward(Span<float> dinput, Span<float> dweight, Span<float> dbias, ReadOnlySpan<float> doutput, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd, int R, int C, VectorWidth width = VectorWidth.Auto)
    {
        for (int r = 0; r < R; r++)
        {
            float a = 0, b = 0;
            for (int c = 0; c < C; c++) { float n = (input[r * C + c] - mean[r]) * rstd[r]; float dn = weight[c] * doutput[r * C + c]; a += dn; b += dn * n; }
            a /= C; b /= C;
            for (int c = 0; c < C; c++)
            {
                float n = (input[r * C + c] - mean[r]) * rstd[r]; float dn = weight[c] * doutput[r * C + c];
                dbias[c] += doutput[r * C + c]; dweight[c] += n * doutput[r * C + c];
                dinput[r * C + c] += (dn - a - n * b) * rstd[r];
            }
        }
    }
}

internal static class Attention
{
    public static void Forward(Span<float> output, Span<float> preatt, Span<float> att, ReadOnlySpan<float> qkv, int B, int T, int C, int NH, VectorWidth width = VectorWidth.Auto)
    {
        int hs = C / NH; float scale = 1f / MathF.Sqrt(hs);
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++)
                for (int h = 0; h < NH; h++)
                {
                    int q = (b * T + t) * 3 * C + h * hs, a = ((b * NH + h) * T + t) * T;
                    float max = float.NegativeInfinity;
                    for (int t2 = 0; t2 <= t; t2++)
                    {
                        int k = (b * T + t2) * 3 * C + C + h * hs; float s = 0;
                        for (int i = 0; i < hs; i++) s += qkv[q + i] * qkv[k + i];
                        s *= scale; preatt[a + t2] = s; if (s > max) max = s;
                    }
                    float sum = 0;
                    for (int t2 = 0; t2 <= t; t2++) { float e = MathF.Exp(preatt[a + t2] - max); att[a + t2] = e; sum += e; }
                    for (int t2 = 0; t2 < T; t2++) att[a + t2] = t2 <= t ? att[a + t2] / sum : 0f;
                    var o = output.Slice((b * T + t) * C + h * hs, hs); o.Clear();
                    for (int t2 = 0; t2 <= t; t2++) { int v = (b * T + t2) * 3 * C + 2 * C + h * hs; for (int i = 0; i < hs; i++) o[i] += att[a + t2] * qkv[v + i]; }
                }
    }
    public static void Backward(Span<float> dqkv, Span<float> dpreatt, Span<float> datt, ReadOnlySpan<float> doutput, ReadOnlySpan<float> qkv, ReadOnlySpan<float> att, int B, int T, int C, int NH, VectorWidth width = VectorWidth.Auto)
    {
        int hs = C / NH; float scale = 1f / MathF.Sqrt(hs);
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++)
                for (int h = 0; h < NH; h++)
                {
                    int a = ((b * NH + h) * T + t) * T, o = (b * T + t) * C + h * hs, q = (b * T + t) * 3 * C + h * hs;
                    for (int t2 = 0; t2 <= t; t2++)
                    {
                        int v = (b * T + t2) * 3 * C + 2 * C + h * hs;
                        for (int i = 0; i < hs; i++) { datt[a + t2] += qkv[v + i] * doutput[o + i]; dqkv[v + i] += att[a + t2] * doutput[o + i]; }
                    }
                    for (int t2 = 0; t2 <= t; t2++)
                        for (int t3 = 0; t3 <= t; t3++)
                            dpreatt[a + t3] += att[a + t2] * ((t2 == t3 ? 1f : 0f) - att[a + t3]) * datt[a + t2];
                    for (int t2 = 0; t2 <= t; t2++)
                    {
                        int k = (b * T + t2) * 3 * C + C + h * hs;
                        for (int i = 0; i < hs; i++) { dqkv[q + i] += qkv[k + i] * dpreatt[a + t2] * scale; dqkv[k + i] += qkv[q + i] * dpreatt[a + t2] * scale; }
                    }
                }
    }
}

internal static class Gelu
{
    private const float K = 0.7978845608028654f;
    public static void Forward(Span<float> output, ReadOnlySpan<float> input, VectorWidth width = VectorWidth.Auto)
    {
        for (int i = 0; i < input.Length; i++) { float x = input[i]; output[i] = 0.5f * x * (1f + MathF.Tanh(K * (x + 0.044715f * x * x * x))); }
    }
    public static void Backward(Span<float> dinput, ReadOnlySpan<float> input, ReadOnlySpan<float> doutput, VectorWidth width = VectorWidth.Auto)
    {
        for (int i = 0; i < input.Length; i++)
        {
            float x = input[i]; float th = MathF.Tanh(K * (x + 0.044715f * x * x * x));
            float d = 0.5f * (1f + th) + 0.5f * x * (1f - th * th) * K * (1f + 3f * 0.044715f * x * x);
            dinput[i] += d * doutput[i];
        }
    }
}

internal static class Residual
{
    public static void Forward(Span<float> output, ReadOnlySpan<float> a, ReadOnlySpan<float> b, VectorWidth width = VectorWidth.Auto)
    {
        for (int i = 0; i < a.Length; i++) output[i] = a[i] + b[i];
    }
}

internal static class SoftmaxCrossEntropy
{
    public static void Forward(Span<float> losses, Span<float> probs, ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, int R, int V, int Vp, VectorWidth width = VectorWidth.Auto)
    {
        for (int r = 0; r < R; r++)
        {
            var l = logits.Slice(r * Vp, Vp); var p = probs.Slice(r * Vp, Vp);
            float max = float.NegativeInfinity; for (int v = 0; v < V; v++) max = MathF.Max(max, l[v]);
            float sum = 0; for (int v = 0; v < V; v++) { p[v] = MathF.Exp(l[v] - max); sum += p[v]; }
            for (int v = 0; v < V; v++) p[v] /= sum;
            p[V..].Clear();
            losses[r] = -MathF.Log(p[targets[r]]);
        }
    }
    public static void Backward(Span<float> dlogits, ReadOnlySpan<float> probs, ReadOnlySpan<int> targets, float dlossScale, int R, int V, int Vp, VectorWidth width = VectorWidth.Auto)
    {
        for (int r = 0; r < R; r++)
        {
            for (int v = 0; v < V; v++) dlogits[r * Vp + v] = (probs[r * Vp + v] - (v == targets[r] ? 1f : 0f)) * dlossScale;
            dlogits.Slice(r * Vp + V, Vp - V).Clear();
        }
    }
}

internal static class AdamW
{
    public static void Update(Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> m, Span<float> v, in AdamWSettings s, int step, float gradientScale, VectorWidth width = VectorWidth.Auto)
    {
        float c1 = 1f - MathF.Pow(s.Beta1, step), c2 = 1f - MathF.Pow(s.Beta2, step);
        for (int i = 0; i < parameters.Length; i++)
        {
            float g = gradients[i] * gradientScale;
            m[i] = s.Beta1 * m[i] + (1 - s.Beta1) * g;
            v[i] = s.Beta2 * v[i] + (1 - s.Beta2) * g * g;
            float mh = m[i] / c1, vh = v[i] / c2;
            parameters[i] -= s.LearningRate * (mh / (MathF.Sqrt(vh) + s.Epsilon) + s.WeightDecay * parameters[i]);
        }
    }
}

internal static class VectorMath
{
    public static double SumOfSquares(ReadOnlySpan<float> x, VectorWidth width = VectorWidth.Auto)
    {
        double s = 0; foreach (float f in x) s += (double)f * f; return s;
    }
    public static void AddTo(Span<float> dst, ReadOnlySpan<float> src, VectorWidth width = VectorWidth.Auto)
    {
        for (int i = 0; i < dst.Length; i++) dst[i] += src[i];
    }
}
