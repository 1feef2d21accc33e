namespace Crystalline.Hpc.Kernels;

/// <summary>
/// Token + position embedding: out[b,t,:] = wte[tokens[b,t], :] + wpe[t, :].
/// Layouts: out B×T×C, tokens B×T, wte V×C (V = wte.Length / C, padded vocabulary allowed), wpe maxT×C, T ≤ maxT.
/// </summary>
/// <remarks>Plain additions (bitwise equal across widths). Every token id is checked before anything is written.</remarks>
internal static class Embedding
{
    /// <exception cref="ArgumentException">
    /// B, T or C not positive; output/tokens not B·T·C / B·T long; wte or wpe not a multiple of C; T exceeds
    /// wpe's rows; a token outside [0, V).
    /// </exception>
    public static void Forward(Span<float> output, ReadOnlySpan<int> tokens, ReadOnlySpan<float> wte, ReadOnlySpan<float> wpe,
        int batch, int tokensPerRow, int channels, VectorWidth width = VectorWidth.Auto)
    {
        int vocabulary = Validate(output.Length, "output", tokens, wte, "wte", wpe, "wpe", batch, tokensPerRow, channels);
        _ = vocabulary;
        for (int bt = 0; bt < tokens.Length; bt++)
        {
            int t = bt % tokensPerRow;
            VectorMath.Add(output.Slice(bt * channels, channels), wte.Slice(tokens[bt] * channels, channels),
                wpe.Slice(t * channels, channels), width);
        }
    }

    /// <summary>dwte[tokens[b,t], :] += doutput[b,t,:]; dwpe[t, :] += doutput[b,t,:] (accumulates).</summary>
    /// <exception cref="ArgumentException">as <see cref="Forward"/>, for doutput, dwte and dwpe.</exception>
    public static void Backward(Span<float> dwte, Span<float> dwpe, ReadOnlySpan<float> doutput, ReadOnlySpan<int> tokens,
        int batch, int tokensPerRow, int channels, VectorWidth width = VectorWidth.Auto)
    {
        Validate(doutput.Length, "doutput", tokens, dwte, "dwte", dwpe, "dwpe", batch, tokensPerRow, channels);
        // Forward: out[b,t,:] = wte[token,:] + wpe[t,:] — each row of out depends on exactly one row of each table.
        for (int bt = 0; bt < tokens.Length; bt++)
        {
            int t = bt % tokensPerRow;
            ReadOnlySpan<float> d = doutput.Slice(bt * channels, channels);
            VectorMath.AddTo(dwte.Slice(tokens[bt] * channels, channels), d, width);
            VectorMath.AddTo(dwpe.Slice(t * channels, channels), d, width);
        }
    }

    /// <summary>
    /// dwpe[t, :] += doutput[b,t,:] only: <see cref="Backward"/>'s position half, for a caller that adds
    /// the token rows itself (the trainer's fused reduction). Same additions, same order, as there.
    /// </summary>
    /// <exception cref="ArgumentException">a dimension not positive, doutput not B·T·C long, or dwpe shorter than T rows.</exception>
    public static void BackwardPositions(Span<float> dwpe, ReadOnlySpan<float> doutput, int batch, int tokensPerRow, int channels, VectorWidth width = VectorWidth.Auto)
    {
        KernelShape.Positive(batch, nameof(batch));
        KernelShape.Positive(tokensPerRow, nameof(tokensPerRow));
        KernelShape.Positive(channels, nameof(channels));
        int rows = KernelShape.Product(batch, tokensPerRow, "B·T");
        if (doutput.Length != KernelShape.Product(rows, channels, "B·T·C"))
            throw new ArgumentException($"doutput has length {doutput.Length}, expected {(long)rows * channels}", nameof(doutput));
        if (dwpe.Length % channels != 0 || dwpe.Length / channels < tokensPerRow)
            throw new ArgumentException($"dwpe length {dwpe.Length} does not hold T = {tokensPerRow} rows of C = {channels}", nameof(dwpe));
        for (int bt = 0; bt < rows; bt++)
            VectorMath.AddTo(dwpe.Slice(bt % tokensPerRow * channels, channels), doutput.Slice(bt * channels, channels), width);
    }

    private static int Validate(int outLength, string outName, ReadOnlySpan<int> tokens, ReadOnlySpan<float> wte, string wteName,
        ReadOnlySpan<float> wpe, string wpeName, int batch, int tokensPerRow, int channels)
    {
        KernelShape.Positive(batch, nameof(batch));
        KernelShape.Positive(tokensPerRow, nameof(tokensPerRow));
        KernelShape.Positive(channels, nameof(channels));
        int rows = KernelShape.Product(batch, tokensPerRow, "B·T");
        KernelShape.Length(tokens, rows, nameof(tokens));
        if (outLength != KernelShape.Product(rows, channels, "B·T·C"))
            throw new ArgumentException($"{outName} has length {outLength}, expected {(long)rows * channels}", outName);
        if (wte.Length == 0 || wte.Length % channels != 0)
            throw new ArgumentException($"{wteName} length {wte.Length} is not a positive multiple of C = {channels}", wteName);
        if (wpe.Length % channels != 0 || wpe.Length / channels < tokensPerRow)
            throw new ArgumentException($"{wpeName} length {wpe.Length} does not hold T = {tokensPerRow} rows of C = {channels}", wpeName);
        int vocabulary = wte.Length / channels;
        for (int i = 0; i < tokens.Length; i++)
        {
            if ((uint)tokens[i] >= (uint)vocabulary)
                throw new ArgumentException($"token {tokens[i]} at {i} is outside [0, {vocabulary})", nameof(tokens));
        }
        return vocabulary;
    }
}
