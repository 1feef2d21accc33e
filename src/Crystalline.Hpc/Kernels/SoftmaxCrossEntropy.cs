namespace Crystalline.Hpc.Kernels;

/// <summary>
/// Softmax over the vocabulary fused with the cross-entropy loss, per row of R:
/// probs[i] = e^(z[i] − max z) / Σⱼ e^(z[j] − max z) for i &lt; V, probs[i] = 0 for V ≤ i &lt; Vp;
/// loss = −log probs[target] = log Σⱼ e^(z[j] − max z) − (z[target] − max z).
/// Layout: logits and probs R×Vp (Vp ≥ V is the padded vocabulary), losses and targets R.
/// </summary>
/// <remarks>
/// Subtracting the row maximum keeps every exponent ≤ 0, so logits of ±1e4 give no overflow and no
/// NaN; the loss is taken from the log-sum-exp rather than log(probs[target]), so it stays finite
/// (≈ the logit gap) even when probs[target] underflows to 0. Vector paths use <see cref="VectorExp"/>
/// (≤ 2 ulp) and float partial sums in 2 registers of lanes; they agree with the scalar reference
/// (MathF.Exp, double sum) to ~1e−6 relative. A NaN logit makes its row's probs and loss NaN.
/// </remarks>
internal static class SoftmaxCrossEntropy
{
    /// <exception cref="ArgumentException">R or V not positive; Vp &lt; V; a span length differs from R·Vp or R; a target outside [0, V).</exception>
    public static void Forward(Span<float> losses, Span<float> probs, ReadOnlySpan<float> logits, ReadOnlySpan<int> targets,
        int rowCount, int vocabulary, int paddedVocabulary, VectorWidth width = VectorWidth.Auto)
    {
        Validate(probs.Length, nameof(probs), targets, rowCount, vocabulary, paddedVocabulary);
        KernelShape.Length(logits, probs.Length, nameof(logits));
        KernelShape.Length(losses, rowCount, nameof(losses));
        VectorWidth w = KernelDispatch.Resolve(width);
        for (int r = 0; r < rowCount; r++)
        {
            ReadOnlySpan<float> z = logits.Slice(r * paddedVocabulary, vocabulary);
            Span<float> p = probs.Slice(r * paddedVocabulary, paddedVocabulary);
            float max = RowOps.Max(z, w);
            float sum = RowOps.ExpSubtractSum(p[..vocabulary], z, max, w);
            RowOps.Scale(p[..vocabulary], 1f / sum, w);
            p[vocabulary..].Clear();
            losses[r] = (float)(Math.Log(sum) - ((double)z[targets[r]] - max));
        }
    }

    /// <summary>
    /// Writes (does not accumulate) dlogits[i] = (probs[i] − [i = target])·dlossScale for i &lt; V and 0 in
    /// the padded columns. dlossScale is ∂L/∂loss of the row, e.g. 1/(B·T) for a mean loss.
    /// </summary>
    /// <exception cref="ArgumentException">as <see cref="Forward"/>, for dlogits and probs.</exception>
    public static void Backward(Span<float> dlogits, ReadOnlySpan<float> probs, ReadOnlySpan<int> targets, float dlossScale,
        int rowCount, int vocabulary, int paddedVocabulary, VectorWidth width = VectorWidth.Auto)
    {
        Validate(dlogits.Length, nameof(dlogits), targets, rowCount, vocabulary, paddedVocabulary);
        KernelShape.Length(probs, dlogits.Length, nameof(probs));
        // Forward: loss = log Σ e^z − z[target], so ∂loss/∂z[i] = softmax(z)[i] − [i = target].
        for (int r = 0; r < rowCount; r++)
        {
            int o = r * paddedVocabulary;
            Span<float> d = dlogits.Slice(o, paddedVocabulary);
            ReadOnlySpan<float> p = probs.Slice(o, vocabulary);
            VectorMath.Scale(d, p, dlossScale, width);
            int t = targets[r];
            d[t] = (p[t] - 1f) * dlossScale;
            d[vocabulary..].Clear();
        }
    }

    private static void Validate(int matrixLength, string matrixName, ReadOnlySpan<int> targets, int rowCount, int vocabulary, int paddedVocabulary)
    {
        KernelShape.Positive(rowCount, nameof(rowCount));
        KernelShape.Positive(vocabulary, nameof(vocabulary));
        if (paddedVocabulary < vocabulary)
            throw new ArgumentException($"padded vocabulary {paddedVocabulary} is smaller than the vocabulary {vocabulary}", nameof(paddedVocabulary));
        int n = KernelShape.Product(rowCount, paddedVocabulary, "R·Vp");
        if (matrixLength != n)
            throw new ArgumentException($"{matrixName} has length {matrixLength}, expected {n}", matrixName);
        KernelShape.Length(targets, rowCount, nameof(targets));
        for (int r = 0; r < rowCount; r++)
        {
            if ((uint)targets[r] >= (uint)vocabulary)
                throw new ArgumentException($"target {targets[r]} of row {r} is outside [0, {vocabulary})", nameof(targets));
        }
    }
}
