using Crystalline.Hpc.Kernels;
using Crystalline.Hpc.Memory;
using Crystalline.Hpc.Model;

namespace Crystalline.Hpc.Training;

/// <summary>
/// What one leaf sphere owns for a training step: its rows' tokens, an aligned activation arena (the
/// forward activations of its rows plus the backward's scratch), and a gradient buffer the size of the
/// parameter vector. Allocated once, only for spheres that receive rows; the steady-state step
/// allocates nothing.
/// </summary>
internal sealed unsafe class SphereWorkspace : IDisposable
{
    private readonly GptConfig _cfg;
    private readonly ParameterLayout _lay;
    private readonly AlignedBuffer<int> _tokens;
    private readonly AlignedBuffer<float> _arena;
    private readonly AlignedBuffer<float>? _grads;

    // Arena offsets (floats). Per-layer blocks are L consecutive slices of the given size.
    private readonly long _encoded, _ln1, _ln1Mean, _ln1Rstd, _qkv, _atty, _preatt, _att, _attproj, _res2,
        _ln2, _ln2Mean, _ln2Rstd, _fch, _fchGelu, _fcproj, _res3, _lnf, _lnfMean, _lnfRstd, _logits, _probs, _losses,
        _dres, _dln, _datty, _dqkv, _dpreatt, _datt, _dgelu, _dfch;

    public SphereWorkspace(int sphereIndex, int[] rows, int seqLen, ParameterLayout layout, bool withGradients, int numaNode = -1)
    {
        SphereIndex = sphereIndex;
        Rows = rows;
        T = seqLen;
        _lay = layout;
        _cfg = layout.Config;
        int b = rows.Length;
        long R = (long)b * T, C = _cfg.Channels, L = _cfg.NumLayers, NH = _cfg.NumHeads, Vp = _cfg.PaddedVocabSize;
        long att = b * NH * T * T;
        long o = 0;
        long Take(long n) { long at = o; o += (n + 15) / 16 * 16; return at; } // keep every slice 64-byte aligned
        _encoded = Take(R * C);
        _ln1 = Take(L * R * C); _ln1Mean = Take(L * R); _ln1Rstd = Take(L * R);
        _qkv = Take(L * R * 3 * C); _atty = Take(L * R * C); _preatt = Take(L * att); _att = Take(L * att);
        _attproj = Take(L * R * C); _res2 = Take(L * R * C);
        _ln2 = Take(L * R * C); _ln2Mean = Take(L * R); _ln2Rstd = Take(L * R);
        _fch = Take(L * R * 4 * C); _fchGelu = Take(L * R * 4 * C); _fcproj = Take(L * R * C); _res3 = Take(L * R * C);
        _lnf = Take(R * C); _lnfMean = Take(R); _lnfRstd = Take(R);
        _logits = Take(R * Vp); _probs = Take(R * Vp); _losses = Take(R);
        _dres = Take(R * C); _dln = Take(R * C); _datty = Take(R * C); _dqkv = Take(R * 3 * C);
        _dpreatt = Take(att); _datt = Take(att); _dgelu = Take(R * 4 * C); _dfch = Take(R * 4 * C);
        _arena = new AlignedBuffer<float>(o, numaNode);
        _tokens = new AlignedBuffer<int>(2 * R, numaNode);
        if (withGradients) _grads = new AlignedBuffer<float>(layout.Count, numaNode);
    }

    public int SphereIndex { get; }
    /// <summary>Batch rows this sphere owns, ascending.</summary>
    public int[] Rows { get; }
    public int T { get; }
    public int RowCount => Rows.Length;
    /// <summary>Σ of this sphere's per-token losses in the last step (row order).</summary>
    public double LossSum { get; private set; }
    public long ArenaBytes => _arena.ByteLength + _tokens.ByteLength;
    public long GradientBytes => _grads?.ByteLength ?? 0;
    public float* GradientPointer => _grads is null ? null : _grads.Pointer;
    public Span<float> Gradients => _grads!.Span;

    /// <summary>
    /// True when the gradient buffer is known to be all zero: the reduction and the optimizer clear
    /// each slice right after its last use, while it is still in cache, so the next backward can skip a
    /// separate full pass over the buffer (a 498 MB streaming write per sphere at gpt2-124M).
    /// </summary>
    public bool GradientsZeroed { get; set; } = true;

    private Span<float> A(long offset, long length) => new(_arena.Pointer + offset, checked((int)length));
    private Span<int> Inputs => new(_tokens.Pointer, RowCount * T);
    private Span<int> Targets => new(_tokens.Pointer + (long)RowCount * T, RowCount * T);

    /// <summary>Copies this sphere's rows of the batch into its own token buffer.</summary>
    public void Gather(ReadOnlySpan<int> inputs, ReadOnlySpan<int> targets)
    {
        for (int i = 0; i < Rows.Length; i++)
        {
            inputs.Slice(Rows[i] * T, T).CopyTo(Inputs.Slice(i * T, T));
            targets.Slice(Rows[i] * T, T).CopyTo(Targets.Slice(i * T, T));
        }
    }

    /// <summary>The logits of local row <paramref name="localRow"/> (T×Vp), valid after a forward pass.</summary>
    public ReadOnlySpan<float> Logits(int localRow) => A(_logits + (long)localRow * T * _cfg.PaddedVocabSize, (long)T * _cfg.PaddedVocabSize);

    private ReadOnlySpan<float> P(ParameterTensor t, float* p) => new(p + _lay.Offset(t), _lay.Size(t));
    private ReadOnlySpan<float> PL(ParameterTensor t, int l, float* p, int size) => new(p + _lay.LayerOffset(t, l), size);
    private Span<float> G(ParameterTensor t) => new(_grads!.Pointer + _lay.Offset(t), _lay.Size(t));
    private Span<float> GL(ParameterTensor t, int l, int size) => new(_grads!.Pointer + _lay.LayerOffset(t, l), size);

    /// <summary>Forward pass of this sphere's rows against the weights at <paramref name="p"/>; sets <see cref="LossSum"/>.</summary>
    public void Forward(float* p)
    {
        int b = RowCount, R = b * T, C = _cfg.Channels, NH = _cfg.NumHeads, V = _cfg.VocabSize, Vp = _cfg.PaddedVocabSize;
        int att = b * NH * T * T;
        Embedding.Forward(A(_encoded, (long)R * C), Inputs, P(ParameterTensor.Wte, p), P(ParameterTensor.Wpe, p), b, T, C);
        long resIn = _encoded;
        for (int l = 0; l < _cfg.NumLayers; l++)
        {
            long rc = (long)l * R * C, r1 = (long)l * R;
            LayerNorm.Forward(A(_ln1 + rc, (long)R * C), A(_ln1Mean + r1, R), A(_ln1Rstd + r1, R), A(resIn, (long)R * C),
                PL(ParameterTensor.Ln1W, l, p, C), PL(ParameterTensor.Ln1B, l, p, C), R, C);
            Linear.Forward(A(_qkv + 3 * rc, 3L * R * C), A(_ln1 + rc, (long)R * C), PL(ParameterTensor.QkvW, l, p, 3 * C * C), PL(ParameterTensor.QkvB, l, p, 3 * C), R, C, 3 * C);
            Attention.Forward(A(_atty + rc, (long)R * C), A(_preatt + (long)l * att, att), A(_att + (long)l * att, att), A(_qkv + 3 * rc, 3L * R * C), b, T, C, NH);
            Linear.Forward(A(_attproj + rc, (long)R * C), A(_atty + rc, (long)R * C), PL(ParameterTensor.AttProjW, l, p, C * C), PL(ParameterTensor.AttProjB, l, p, C), R, C, C);
            Residual.Forward(A(_res2 + rc, (long)R * C), A(resIn, (long)R * C), A(_attproj + rc, (long)R * C));
            LayerNorm.Forward(A(_ln2 + rc, (long)R * C), A(_ln2Mean + r1, R), A(_ln2Rstd + r1, R), A(_res2 + rc, (long)R * C),
                PL(ParameterTensor.Ln2W, l, p, C), PL(ParameterTensor.Ln2B, l, p, C), R, C);
            Linear.Forward(A(_fch + 4 * rc, 4L * R * C), A(_ln2 + rc, (long)R * C), PL(ParameterTensor.FcW, l, p, 4 * C * C), PL(ParameterTensor.FcB, l, p, 4 * C), R, C, 4 * C);
            Gelu.Forward(A(_fchGelu + 4 * rc, 4L * R * C), A(_fch + 4 * rc, 4L * R * C));
            Linear.Forward(A(_fcproj + rc, (long)R * C), A(_fchGelu + 4 * rc, 4L * R * C), PL(ParameterTensor.FcProjW, l, p, 4 * C * C), PL(ParameterTensor.FcProjB, l, p, C), R, 4 * C, C);
            Residual.Forward(A(_res3 + rc, (long)R * C), A(_res2 + rc, (long)R * C), A(_fcproj + rc, (long)R * C));
            resIn = _res3 + rc;
        }
        LayerNorm.Forward(A(_lnf, (long)R * C), A(_lnfMean, R), A(_lnfRstd, R), A(resIn, (long)R * C), P(ParameterTensor.LnfW, p), P(ParameterTensor.LnfB, p), R, C);
        Linear.Forward(A(_logits, (long)R * Vp), A(_lnf, (long)R * C), P(ParameterTensor.Wte, p), ReadOnlySpan<float>.Empty, R, C, Vp);
        SoftmaxCrossEntropy.Forward(A(_losses, R), A(_probs, (long)R * Vp), A(_logits, (long)R * Vp), Targets, R, V, Vp);
        double sum = 0;
        var losses = A(_losses, R);
        for (int i = 0; i < R; i++) sum += losses[i];
        LossSum = sum;
    }

    /// <summary>
    /// Backward pass after <see cref="Forward"/>: overwrites this sphere's gradient buffer with
    /// d(Σ losses · <paramref name="lossScale"/>)/dθ for its rows. The logits are overwritten by dlogits.
    /// </summary>
    public void Backward(float* p, float lossScale)
    {
        int b = RowCount, R = b * T, C = _cfg.Channels, NH = _cfg.NumHeads, V = _cfg.VocabSize, Vp = _cfg.PaddedVocabSize, L = _cfg.NumLayers;
        int att = b * NH * T * T;
        if (!GradientsZeroed) _grads!.Span.Clear();
        GradientsZeroed = false;
        Span<float> dlogits = A(_logits, (long)R * Vp);
        SoftmaxCrossEntropy.Backward(dlogits, A(_probs, (long)R * Vp), Targets, lossScale, R, V, Vp);
        Span<float> dres = A(_dres, (long)R * C), dln = A(_dln, (long)R * C);
        dln.Clear();
        Linear.Backward(dln, G(ParameterTensor.Wte), Span<float>.Empty, dlogits, A(_lnf, (long)R * C), P(ParameterTensor.Wte, p), R, C, Vp);
        dres.Clear();
        long lastOut = L == 0 ? _encoded : _res3 + (long)(L - 1) * R * C;
        LayerNorm.Backward(dres, G(ParameterTensor.LnfW), G(ParameterTensor.LnfB), dln, A(lastOut, (long)R * C), P(ParameterTensor.LnfW, p), A(_lnfMean, R), A(_lnfRstd, R), R, C);
        Span<float> dgelu = A(_dgelu, 4L * R * C), dfch = A(_dfch, 4L * R * C), datty = A(_datty, (long)R * C), dqkv = A(_dqkv, 3L * R * C);
        Span<float> dpreatt = A(_dpreatt, att), datt = A(_datt, att);
        for (int l = L - 1; l >= 0; l--)
        {
            long rc = (long)l * R * C, r1 = (long)l * R;
            long resIn = l == 0 ? _encoded : _res3 + (long)(l - 1) * R * C;
            // dres holds dLoss/d(res3); the residual passes it to res2 unchanged, plus the MLP branch below.
            dgelu.Clear();
            Linear.Backward(dgelu, GL(ParameterTensor.FcProjW, l, 4 * C * C), GL(ParameterTensor.FcProjB, l, C), dres, A(_fchGelu + 4 * rc, 4L * R * C), PL(ParameterTensor.FcProjW, l, p, 4 * C * C), R, 4 * C, C);
            dfch.Clear();
            Gelu.Backward(dfch, A(_fch + 4 * rc, 4L * R * C), dgelu);
            dln.Clear();
            Linear.Backward(dln, GL(ParameterTensor.FcW, l, 4 * C * C), GL(ParameterTensor.FcB, l, 4 * C), dfch, A(_ln2 + rc, (long)R * C), PL(ParameterTensor.FcW, l, p, 4 * C * C), R, C, 4 * C);
            LayerNorm.Backward(dres, GL(ParameterTensor.Ln2W, l, C), GL(ParameterTensor.Ln2B, l, C), dln, A(_res2 + rc, (long)R * C), PL(ParameterTensor.Ln2W, l, p, C), A(_ln2Mean + r1, R), A(_ln2Rstd + r1, R), R, C);
            // dres now holds dLoss/d(res2); it flows to the block input unchanged, plus the attention branch.
            datty.Clear();
            Linear.Backward(datty, GL(ParameterTensor.AttProjW, l, C * C), GL(ParameterTensor.AttProjB, l, C), dres, A(_atty + rc, (long)R * C), PL(ParameterTensor.AttProjW, l, p, C * C), R, C, C);
            dqkv.Clear(); dpreatt.Clear(); datt.Clear();
            Attention.Backward(dqkv, dpreatt, datt, datty, A(_qkv + 3 * rc, 3L * R * C), A(_att + (long)l * att, att), b, T, C, NH);
            dln.Clear();
            Linear.Backward(dln, GL(ParameterTensor.QkvW, l, 3 * C * C), GL(ParameterTensor.QkvB, l, 3 * C), dqkv, A(_ln1 + rc, (long)R * C), PL(ParameterTensor.QkvW, l, p, 3 * C * C), R, C, 3 * C);
            LayerNorm.Backward(dres, GL(ParameterTensor.Ln1W, l, C), GL(ParameterTensor.Ln1B, l, C), dln, A(resIn, (long)R * C), PL(ParameterTensor.Ln1W, l, p, C), A(_ln1Mean + r1, R), A(_ln1Rstd + r1, R), R, C);
        }
        Embedding.Backward(G(ParameterTensor.Wte), G(ParameterTensor.Wpe), dres, Inputs, b, T, C);
    }

    public void Dispose()
    {
        _arena.Dispose();
        _tokens.Dispose();
        _grads?.Dispose();
    }
}
