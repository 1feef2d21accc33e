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
        // every query of that head reads them. The arithmetic of each element is unchanged.
        for (int b = 0; b < batch; b++)
        {
            for (int h = 0; h < heads; h++)
            {
                for (int t = 0; t < T; t++)
                {
                    ReadOnlySpan<float> q = qkv.Slice((b * T + t) * C3 + h * hs, hs);
                    int rowOffset = ((b * heads + h) * T + t) * T;
                    Span<float> pre = preatt.Slice(rowOffset, T);
                    Span<float> a = att.Slice(rowOffset, T);
                    int n = t + 1, span = t * C3 + hs; // rows t2 = 0 … t, each hs long, 3C apart
                    int kBase = b * T * C3 + C + h * hs, vBase = kBase + C;

                    AttentionRows.DotRows(pre, q, qkv.Slice(kBase, span), C3, n, scale, accumulate: false, w);
                    pre[n..].Clear();

                    float max = RowOps.Max(pre[..n], w);
                    float sum = RowOps.ExpSubtractSum(a[..n], pre[..n], max, w);
                    RowOps.Scale(a[..n], 1f / sum, w);
                    a[n..].Clear();

                    Span<float> o = output.Slice((b * T + t) * C + h * hs, hs);
                    o.Clear();
                    AttentionRows.WeightedRowSum(o, a[..n], 1f, qkv.Slice(vBase, span), C3, n, w);
                }
            }
        }
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

        // b, h, t order, as in forward. Every dk/dv element still receives its contributions in increasing t,
        // so the sums are the same as in llm.c's b, t, h order.
        for (int b = 0; b < batch; b++)
        {
            for (int h = 0; h < heads; h++)
            {
                for (int t = 0; t < T; t++)
                {
                    int qOffset = (b * T + t) * C3 + h * hs;
                    ReadOnlySpan<float> q = qkv.Slice(qOffset, hs);
                    Span<float> dq = dqkv.Slice(qOffset, hs);
                    int rowOffset = ((b * heads + h) * T + t) * T;
                    int n = t + 1, span = t * C3 + hs;
                    int kBase = b * T * C3 + C + h * hs, vBase = kBase + C;
                    ReadOnlySpan<float> a = att.Slice(rowOffset, n);
                    Span<float> da = datt.Slice(rowOffset, n);
                    Span<float> dp = dpreatt.Slice(rowOffset, n);
                    ReadOnlySpan<float> dout = doutput.Slice((b * T + t) * C + h * hs, hs);

                    // Forward: out_t = Σ_t2 att[t2]·v_t2  ⇒  datt[t2] += dout·v_t2;  dv_t2 += att[t2]·dout.
                    AttentionRows.DotRows(da, dout, qkv.Slice(vBase, span), C3, n, 1f, accumulate: true, w);
                    AttentionRows.RowUpdate(dqkv.Slice(vBase, span), C3, n, a, 1f, dout, w);

                    // Forward: att = softmax(preatt[0..t])  ⇒  dpreatt[t2] += att[t2]·(datt[t2] − Σ_t3 att[t3]·datt[t3])
                    // (the softmax Jacobian att[t2]·(δ − att[t3]) contracted in O(T) rather than O(T²)).
                    float weighted = RowOps.Dot(a, da, w);
                    for (int t2 = 0; t2 < n; t2++)
                        dp[t2] += a[t2] * (da[t2] - weighted);

                    // Forward: preatt[t2] = scale·(q_t · k_t2)  ⇒  dq_t += scale·dpreatt[t2]·k_t2;  dk_t2 += scale·dpreatt[t2]·q_t.
                    AttentionRows.WeightedRowSum(dq, dp, scale, qkv.Slice(kBase, span), C3, n, w);
                    AttentionRows.RowUpdate(dqkv.Slice(kBase, span), C3, n, dp, scale, q, w);
                }
            }
        }
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
