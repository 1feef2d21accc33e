namespace Crystalline.Hpc.Training;

/// <summary>
/// Reads B×T batches sequentially from a token array, llm.c style: inputs are tokens[pos … pos+B·T),
/// targets the same shifted by one; the position advances by B·T and wraps to 0 when the next batch
/// would run past the end (one wrap = one epoch).
/// </summary>
internal sealed class DataLoader
{
    private readonly int[] _tokens;

    /// <exception cref="ArgumentException">fewer than B·T + 1 tokens, or a token outside [0, vocab).</exception>
    public DataLoader(int[] tokens, int batch, int seqLen, int vocabSize, string what = "corpus")
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(seqLen);
        if (tokens.Length == 0) throw new ArgumentException($"the {what} is empty");
        long need = (long)batch * seqLen + 1;
        if (tokens.Length < need)
            throw new ArgumentException($"the {what} has {tokens.Length} tokens, shorter than one batch (B·T + 1 = {need}); use a smaller --batch-size/--seq-len or more data");
        for (int i = 0; i < tokens.Length; i++)
            if ((uint)tokens[i] >= (uint)vocabSize)
                throw new ArgumentException($"the {what} holds token {tokens[i]} at position {i}, outside the model's vocabulary of {vocabSize} (vocabulary mismatch)");
        _tokens = tokens;
        B = batch; T = seqLen;
    }

    public int B { get; }
    public int T { get; }
    public int TokenCount => _tokens.Length;
    public long Position { get; set; }

    /// <summary>Whole batches per pass over the data.</summary>
    public long BatchesPerEpoch => (_tokens.Length - 1) / ((long)B * T);

    /// <summary>Fills inputs and targets (B·T each) and advances. Returns true when the position wrapped first.</summary>
    public bool Next(Span<int> inputs, Span<int> targets)
    {
        int n = B * T;
        bool wrapped = false;
        if (Position < 0 || Position + n + 1 > _tokens.Length) { Position = 0; wrapped = true; }
        int p = (int)Position;
        _tokens.AsSpan(p, n).CopyTo(inputs);
        _tokens.AsSpan(p + 1, n).CopyTo(targets);
        Position += n;
        return wrapped;
    }
}
