namespace Crystalline.Hpc.Kernels;

/// <summary>
/// Causal multi-head self-attention (GPT-2). qkv is B×T×3C with q, k, v at column offsets 0, C, 2C and
/// head h in columns h·hs … h·hs + hs − 1 of each (hs = C/NH). For each b, h and query position t:
/// preatt[t2] = (q_t · k_t2)/√hs for t2 ≤ t; att = softmax(preatt[0..t]) (max-subtracted, so no overflow);
/// out_t = Σ_{t2 ≤ t} att[t2]·v_t2. preatt and att are B×NH×T×T; their masked entries (t2 &gt; t) are 0.
/// </summary>
/// <remarks>
/// Dot products and the value sums are vectorised over the head size, the softmax over t2 (with
/// <see cref="VectorExp"/>); vector and scalar agree to ~1e−6 relative. NaN in q, k or v spreads to the rows
/// that read it.
/// </remarks>
internal static class Attention
{
    /// <exception cref="ArgumentException">B, T, C or NH not positive; C not a multiple of NH; a span length differs from its shape.</exception>
    public static void Forward(Span<float> output, Span<float> preatt, Span<float> att, ReadOnlySpan<float> qkv,
        int batch, int tokensPerRow, int channels, int heads, VectorWidth width = VectorWidth.Auto)
    {
        Validate(output.Length, nameof(output), preatt.Length, nameof(preatt), att.Length, nameof(att), qkv.Length, nameof(qkv),
            batch, tokensPerRow, channels, heads);
        VectorWidth w = KernelDispatch.Resolve(width);
        int T = tokensPerRow, C = channels, C3 = 3 * channels, hs = channels / heads;
        float scale = 1f / MathF.Sqrt(hs);

        // b, h, t order (llm.c has b, t, h): one head's keys and values (2·T·hs floats) stay in L2 while
        // every query of that head reads them. The vector paths take queries four at a time so that each
        // value row is loaded once for four of them; every output still sums its rows in increasing t2,
        // so the blocking changes no result.
        for (int b = 0; b < batch; b++)
        {
            for (int h = 0; h < heads; h++)
            {
                int kBase = b * T * C3 + C + h * hs, vBase = kBase + C;
                int t = 0;
                if (w != VectorWidth.Scalar)
                {
                    for (; t + 4 <= T; t += 4)
                    {
                        for (int i = 0; i < 4; i++)
                            ScoresAndSoftmax(output, preatt, att, qkv, b, h, t + i, T, C, heads, hs, scale, w);
                        int n = t + 1, span = t * C3 + hs;
                        AttentionRows.WeightedRowSum4(OutRow(output, b, t, T, C, h, hs), OutRow(output, b, t + 1, T, C, h, hs),
                            OutRow(output, b, t + 2, T, C, h, hs), OutRow(output, b, t + 3, T, C, h, hs),
                            AttRow(att, b, h, t, T, heads)[..n], AttRow(att, b, h, t + 1, T, heads)[..n],
                            AttRow(att, b, h, t + 2, T, heads)[..n], AttRow(att, b, h, t + 3, T, heads)[..n],
                            1f, qkv.Slice(vBase, span), C3, n, w);
                        // The triangle the block does not share: rows t+1 … t+i for query t+i.
                        for (int i = 1; i < 4; i++)
                            AttentionRows.WeightedRowSum(OutRow(output, b, t + i, T, C, h, hs), AttRow(att, b, h, t + i, T, heads).Slice(n, i), 1f,
                                qkv.Slice(vBase + n * C3, (i - 1) * C3 + hs), C3, i, w);
                    }
                }
                for (; t < T; t++)
                {
                    ScoresAndSoftmax(output, preatt, att, qkv, b, h, t, T, C, heads, hs, scale, w);
                    AttentionRows.WeightedRowSum(OutRow(output, b, t, T, C, h, hs), AttRow(att, b, h, t, T, heads)[..(t + 1)], 1f,
                        qkv.Slice(vBase, t * C3 + hs), C3, t + 1, w);
                }
            }
        }
    }

    private static Span<float> OutRow(Span<float> output, int b, int t, int T, int C, int h, int hs) => output.Slice((b * T + t) * C + h * hs, hs);

    private static Span<float> AttRow(Span<float> att, int b, int h, int t, int T, int heads) => att.Slice(((b * heads + h) * T + t) * T, T);

    private static ReadOnlySpan<float> AttRow(ReadOnlySpan<float> att, int b, int h, int t, int T, int heads) => att.Slice(((b * heads + h) * T + t) * T, T);

    /// <summary>preatt and att of query t (head h), and its output row cleared for the value sum.</summary>
    private static void ScoresAndSoftmax(Span<float> output, Span<float> preatt, Span<float> att, ReadOnlySpan<float> qkv,
        int b, int h, int t, int T, int C, int heads, int hs, float scale, VectorWidth w)
    {
        int C3 = 3 * C, n = t + 1;
        ReadOnlySpan<float> q = qkv.Slice((b * T + t) * C3 + h * hs, hs);
        Span<float> pre = AttRow(preatt, b, h, t, T, heads);
        Span<float> a = AttRow(att, b, h, t, T, heads);
        AttentionRows.DotRows(pre, q, qkv.Slice(b * T * C3 + C + h * hs, t * C3 + hs), C3, n, scale, accumulate: false, w);
        pre[n..].Clear();

        float max = RowOps.Max(pre[..n], w);
        float sum = RowOps.ExpSubtractSum(a[..n], pre[..n], max, w);
        RowOps.Scale(a[..n], 1f / sum, w);
        a[n..].Clear();
        OutRow(output, b, t, T, C, h, hs).Clear();
    }

    /// <summary>
    /// Accumulates dqkv (+=) from doutput, given forward's qkv and att. dpreatt and datt are scratch of
    /// att's shape that this kernel accumulates into; the caller zeroes them first.
    /// </summary>
    /// <exception cref="ArgumentException">as <see cref="Forward"/>, for dqkv, dpreatt, datt, doutput and att.</exception>
    public static void Backward(Span<float> dqkv, Span<float> dpreatt, Span<float> datt, ReadOnlySpan<float> doutput,
        ReadOnlySpan<float> qkv, ReadOnlySpan<float> att, int batch, int tokensPerRow, int channels, int heads,
        VectorWidth width = VectorWidth.Auto)
    {
        Validate(doutput.Length, nameof(doutput), dpreatt.Length, nameof(dpreatt), datt.Length, nameof(datt), qkv.Length, nameof(qkv),
            batch, tokensPerRow, channels, heads);
        KernelShape.Length(dqkv, qkv.Length, nameof(dqkv));
        KernelShape.Length(att, datt.Length, nameof(att));
        VectorWidth w = KernelDispatch.Resolve(width);
        int T = tokensPerRow, C = channels, C3 = 3 * channels, hs = channels / heads;
        float scale = 1f / MathF.Sqrt(hs);

        // b, h, t order, as in forward, and the same four-query blocks on the vector paths. Every dq, dk and
        // dv element still receives its contributions in increasing t (and t2), so neither the loop order
        // nor the blocking changes a sum compared with llm.c's b, t, h order.
        for (int b = 0; b < batch; b++)
        {
            for (int h = 0; h < heads; h++)
            {
                int kBase = b * T * C3 + C + h * hs, vBase = kBase + C;
                int t = 0;
                if (w != VectorWidth.Scalar)
                {
                    for (; t + 4 <= T; t += 4)
                    {
                        for (int i = 0; i < 4; i++)
                            SoftmaxBackward(dpreatt, datt, doutput, qkv, att, b, h, t + i, T, C, heads, hs, w);
                        int n = t + 1, span = t * C3 + hs;
                        ReadOnlySpan<float> a0 = AttRow(att, b, h, t, T, heads), a1 = AttRow(att, b, h, t + 1, T, heads);
                        ReadOnlySpan<float> a2 = AttRow(att, b, h, t + 2, T, heads), a3 = AttRow(att, b, h, t + 3, T, heads);
                        ReadOnlySpan<float> p0 = AttRow(dpreatt, b, h, t, T, heads), p1 = AttRow(dpreatt, b, h, t + 1, T, heads);
                        ReadOnlySpan<float> p2 = AttRow(dpreatt, b, h, t + 2, T, heads), p3 = AttRow(dpreatt, b, h, t + 3, T, heads);
                        ReadOnlySpan<float> o0 = OutRow(doutput, b, t, T, C, h, hs), o1 = OutRow(doutput, b, t + 1, T, C, h, hs);
                        ReadOnlySpan<float> o2 = OutRow(doutput, b, t + 2, T, C, h, hs), o3 = OutRow(doutput, b, t + 3, T, C, h, hs);
                        int q0 = (b * T + t) * C3 + h * hs;

                        // dv_t2 += att[t2]·dout_t: rows 0 … t for all four queries, then each query's own triangle.
                        AttentionRows.RowUpdate4(dqkv.Slice(vBase, span), C3, n, a0[..n], a1[..n], a2[..n], a3[..n], 1f, o0, o1, o2, o3, w);
                        for (int i = 1; i < 4; i++)
                            AttentionRows.RowUpdate(dqkv.Slice(vBase + n * C3, (i - 1) * C3 + hs), C3, i, AttRow(att, b, h, t + i, T, heads).Slice(n, i), 1f,
                                OutRow(doutput, b, t + i, T, C, h, hs), w);

                        // dq_t += scale·Σ dpreatt[t2]·k_t2 and dk_t2 += scale·dpreatt[t2]·q_t, blocked the same way.
                        AttentionRows.WeightedRowSum4(dqkv.Slice(q0, hs), dqkv.Slice(q0 + C3, hs), dqkv.Slice(q0 + 2 * C3, hs), dqkv.Slice(q0 + 3 * C3, hs),
                            p0[..n], p1[..n], p2[..n], p3[..n], scale, qkv.Slice(kBase, span), C3, n, w);
                        AttentionRows.RowUpdate4(dqkv.Slice(kBase, span), C3, n, p0[..n], p1[..n], p2[..n], p3[..n], scale,
                            qkv.Slice(q0, hs), qkv.Slice(q0 + C3, hs), qkv.Slice(q0 + 2 * C3, hs), qkv.Slice(q0 + 3 * C3, hs), w);
                        for (int i = 1; i < 4; i++)
                        {
                            ReadOnlySpan<float> pTail = AttRow(dpreatt, b, h, t + i, T, heads).Slice(n, i);
                            AttentionRows.WeightedRowSum(dqkv.Slice(q0 + i * C3, hs), pTail, scale, qkv.Slice(kBase + n * C3, (i - 1) * C3 + hs), C3, i, w);
                        }
                        for (int i = 1; i < 4; i++)
                        {
                            ReadOnlySpan<float> pTail = AttRow(dpreatt, b, h, t + i, T, heads).Slice(n, i);
                            AttentionRows.RowUpdate(dqkv.Slice(kBase + n * C3, (i - 1) * C3 + hs), C3, i, pTail, scale, qkv.Slice(q0 + i * C3, hs), w);
                        }
                    }
                }
                for (; t < T; t++)
                {
                    SoftmaxBackward(dpreatt, datt, doutput, qkv, att, b, h, t, T, C, heads, hs, w);
                    int n = t + 1, span = t * C3 + hs, qOffset = (b * T + t) * C3 + h * hs;
                    ReadOnlySpan<float> a = AttRow(att, b, h, t, T, heads)[..n];
                    ReadOnlySpan<float> dp = AttRow(dpreatt, b, h, t, T, heads)[..n];
                    // Forward: out_t = Σ_t2 att[t2]·v_t2  ⇒  dv_t2 += att[t2]·dout_t.
                    AttentionRows.RowUpdate(dqkv.Slice(vBase, span), C3, n, a, 1f, OutRow(doutput, b, t, T, C, h, hs), w);
                    // Forward: preatt[t2] = scale·(q_t · k_t2)  ⇒  dq_t += scale·dpreatt[t2]·k_t2;  dk_t2 += scale·dpreatt[t2]·q_t.
                    AttentionRows.WeightedRowSum(dqkv.Slice(qOffset, hs), dp, scale, qkv.Slice(kBase, span), C3, n, w);
                    AttentionRows.RowUpdate(dqkv.Slice(kBase, span), C3, n, dp, scale, qkv.Slice(qOffset, hs), w);
                }
            }
        }
    }

    private static ReadOnlySpan<float> OutRow(ReadOnlySpan<float> doutput, int b, int t, int T, int C, int h, int hs) =>
        doutput.Slice((b * T + t) * C + h * hs, hs);

    /// <summary>datt and dpreatt of query t (head h): the parts of backward that need no other query.</summary>
    private static void SoftmaxBackward(Span<float> dpreatt, Span<float> datt, ReadOnlySpan<float> doutput, ReadOnlySpan<float> qkv,
        ReadOnlySpan<float> att, int b, int h, int t, int T, int C, int heads, int hs, VectorWidth w)
    {
        int C3 = 3 * C, n = t + 1;
        ReadOnlySpan<float> a = AttRow(att, b, h, t, T, heads)[..n];
        Span<float> da = AttRow(datt, b, h, t, T, heads)[..n];
        Span<float> dp = AttRow(dpreatt, b, h, t, T, heads)[..n];
        // Forward: out_t = Σ_t2 att[t2]·v_t2  ⇒  datt[t2] += dout_t·v_t2.
        AttentionRows.DotRows(da, OutRow(doutput, b, t, T, C, h, hs), qkv.Slice(b * T * C3 + 2 * C + h * hs, t * C3 + hs), C3, n, 1f,
            accumulate: true, w);
        // Forward: att = softmax(preatt[0..t])  ⇒  dpreatt[t2] += att[t2]·(datt[t2] − Σ_t3 att[t3]·datt[t3])
        // (the softmax Jacobian att[t2]·(δ − att[t3]) contracted in O(T) rather than O(T²)).
        float weighted = RowOps.Dot(a, da, w);
        for (int t2 = 0; t2 < n; t2++)
            dp[t2] += a[t2] * (da[t2] - weighted);
    }

    private static void Validate(int outLength, string outName, int preLength, string preName, int attLength, string attName,
        int qkvLength, string qkvName, int batch, int tokensPerRow, int channels, int heads)
    {
        KernelShape.Positive(batch, nameof(batch));
        KernelShape.Positive(tokensPerRow, nameof(tokensPerRow));
        KernelShape.Positive(channels, nameof(channels));
        KernelShape.Positive(heads, nameof(heads));
        if (channels % heads != 0)
            throw new ArgumentException($"C = {channels} is not a multiple of NH = {heads}", nameof(heads));
        int btc = KernelShape.Product(batch, tokensPerRow, channels, "B·T·C");
        int square = KernelShape.Product(batch, heads, tokensPerRow, tokensPerRow, "B·NH·T·T");
        int btc3 = KernelShape.Product(btc, 3, "B·T·3C");
        if (outLength != btc) throw new ArgumentException($"{outName} has length {outLength}, expected {btc}", outName);
        if (preLength != square) throw new ArgumentException($"{preName} has length {preLength}, expected {square}", preName);
        if (attLength != square) throw new ArgumentException($"{attName} has length {attLength}, expected {square}", attName);
        if (qkvLength != btc3) throw new ArgumentException($"{qkvName} has length {qkvLength}, expected {btc3}", qkvName);
    }
}
