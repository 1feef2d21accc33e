using Crystalline.Hpc.Kernels;
using Crystalline.Hpc.Kernels.Gemm;
using Crystalline.Hpc.Memory;
using Crystalline.Hpc.Model;

namespace Crystalline.Hpc.Training;

/// <summary>
/// What one leaf sphere owns for a training step: its rows' tokens, an aligned activation arena (the
/// forward activations of its rows plus the backward's scratch), and a gradient buffer the size of the
/// parameter vector. Allocated once, only for spheres that receive rows; the steady-state step
/// allocates nothing.
/// </summary>
/// <remarks>
/// With deferred weight gradients (the trainer's default), the backward leaves the weight matrices'
/// gradients dW = doutputᵀ·input to the trainer's fused reduction: it keeps every layer's doutput and
/// packs every layer's input as a GEMM operand here, so the reduction can compute each sphere's dW
/// block by block and add the spheres' blocks in the tree's order while they are in cache, instead of
/// every sphere writing full-size matrices that the reduction then reads back.
/// </remarks>
internal sealed unsafe class SphereWorkspace : IDisposable
{
    private readonly GptConfig _cfg;
    private readonly ParameterLayout _lay;
    private readonly AlignedBuffer<int> _tokens;
    private readonly AlignedBuffer<float> _arena;
    private readonly AlignedBuffer<float>? _grads;
    // Where each tensor's gradient starts in _grads: the parameter layout's offsets, or, for a compact
    // buffer (deferred weight gradients, not the reduction's root), the small tensors packed one after
    // another and no room for the weight matrices, which this sphere then never writes.
    private readonly long[] _gradOffset = new long[ParameterLayout.TensorCount];
    private readonly bool _compact;

    // Arena offsets (floats). Per-layer blocks are L consecutive slices of the given size.
    private readonly long _encoded, _ln1, _ln1Mean, _ln1Rstd, _qkv, _atty, _preatt, _att, _attproj, _res2,
        _ln2, _ln2Mean, _ln2Rstd, _fch, _fchGelu, _fcproj, _res3, _lnf, _lnfMean, _lnfRstd, _logits, _probs, _losses,
        _dres, _dln, _datty, _dqkv, _dpreatt, _datt, _dgelu, _dfch, _dyFcProj, _dyAttProj;

    private readonly bool _overwrite;
    private readonly bool _deferred;
    // Deferred mode: each weight matrix's input packed as op(B) of its dW GEMM (k = this sphere's tokens,
    // n = the matrix's input channels), per layer qkv, attproj, fc, fcproj, then the LM head.
    private readonly PackedOperand[]? _packedInputs;
    private readonly GemmPrecision _precision;
    private readonly StepOp[] _forwardProgram, _backwardProgram;

    /// <param name="sphereIndex">Index of the leaf sphere.</param>
    /// <param name="rows">Batch rows it owns, ascending.</param>
    /// <param name="seqLen">T.</param>
    /// <param name="layout">Parameter layout of the model.</param>
    /// <param name="withGradients">Allocate a gradient buffer (training) or not (evaluation only).</param>
    /// <param name="numaNode">NUMA node of the memory (−1: no preference).</param>
    /// <param name="overwriteGradients">
    /// True: the backward writes every gradient tensor with its first contribution (β = 0 GEMMs, the
    /// bias sums start from their first row) and clears only the small tensors that are accumulated
    /// from the start (layernorms, position embedding), so the gradient buffer never needs zeroing.
    /// False: the buffer is zeroed (unless <see cref="GradientsZeroed"/>) and everything accumulates.
    /// Both give the same bits (x + 0 = x); the flag exists to measure the difference.
    /// </param>
    /// <param name="precision">The linear layers' GEMM arithmetic (<see cref="TrainerOptions.Precision"/>).</param>
    /// <param name="deferWeightGradients">
    /// True: the backward does not compute the weight matrices' gradients (nor the token embedding's
    /// rows); it keeps what they are made of (<see cref="OutputGradient"/>, <see cref="PackedInput"/>,
    /// <see cref="EncodedGradient"/>) for the trainer's fused reduction. Needs overwriteGradients and a
    /// GEMM that packs (<see cref="SupportsDeferredWeightGradients"/>).
    /// </param>
    /// <param name="compactGradients">With deferWeightGradients: the gradient buffer holds only the tensors the
    /// backward writes (biases, layernorms, wpe: <see cref="HasGradient"/>), packed, for a sphere whose buffer the
    /// reduction never uses as the destination of the weight matrices (every sphere but the root).</param>
    /// <exception cref="ArgumentException">deferWeightGradients without overwriteGradients, gradients, or a packing GEMM;
    /// compactGradients without deferWeightGradients.</exception>
    public SphereWorkspace(int sphereIndex, int[] rows, int seqLen, ParameterLayout layout, bool withGradients, int numaNode = -1, bool overwriteGradients = true,
        GemmPrecision precision = GemmPrecision.Fp32, bool deferWeightGradients = false, bool compactGradients = false)
    {
        if (deferWeightGradients && !(overwriteGradients && withGradients && SupportsDeferredWeightGradients(precision)))
            throw new ArgumentException("deferred weight gradients need a gradient buffer, overwriteGradients and a GEMM that packs its operands", nameof(deferWeightGradients));
        if (compactGradients && !deferWeightGradients)
            throw new ArgumentException("a compact gradient buffer needs deferred weight gradients (otherwise the backward writes every tensor)", nameof(compactGradients));
        _compact = compactGradients;
        _forwardProgram = StepProgram.Forward(layout.Config.NumLayers);
        _backwardProgram = StepProgram.Backward(layout.Config.NumLayers);
        _overwrite = overwriteGradients;
        _deferred = deferWeightGradients;
        _precision = precision;
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
        // Deferred mode keeps every layer's doutput of the four matrices: dqkv and dfch per layer, and
        // copies of dres as it enters the two projections' backward (dres itself moves on).
        long kept = deferWeightGradients ? L : 1;
        _dres = Take(R * C); _dln = Take(R * C); _datty = Take(R * C); _dqkv = Take(kept * R * 3 * C);
        _dpreatt = Take(att); _datt = Take(att); _dgelu = Take(R * 4 * C); _dfch = Take(kept * R * 4 * C);
        _dyFcProj = deferWeightGradients ? Take(L * R * C) : -1;
        _dyAttProj = deferWeightGradients ? Take(L * R * C) : -1;
        _arena = new AlignedBuffer<float>(o, numaNode);
        _tokens = new AlignedBuffer<int>(2 * R, numaNode);
        long gradientFloats = 0;
        foreach (ParameterTensor t in Enum.GetValues<ParameterTensor>())
        {
            if (!compactGradients) _gradOffset[(int)t] = layout.Offset(t);
            else if (!ParameterLayout.IsLinearWeight(t)) { _gradOffset[(int)t] = gradientFloats; gradientFloats += layout.Size(t); }
            else _gradOffset[(int)t] = -1;
        }
        if (withGradients) _grads = new AlignedBuffer<float>(compactGradients ? Math.Max(1, gradientFloats) : layout.Count, numaNode);
        if (deferWeightGradients)
        {
            int tokens = checked((int)R);
            _packedInputs = new PackedOperand[4 * L + 1];
            foreach (ParameterTensor t in new[] { ParameterTensor.QkvW, ParameterTensor.AttProjW, ParameterTensor.FcW, ParameterTensor.FcProjW, ParameterTensor.Wte })
                for (int l = 0; l < (t == ParameterTensor.Wte ? 1 : L); l++)
                    _packedInputs[PackedInputIndex(t, l)] = new PackedOperand(tokens, layout.MatrixShape(t).InChannels, transB: false, precision: precision);
        }
    }

    /// <summary>True when the GEMM at <paramref name="precision"/> packs its operands, so weight gradients can be deferred.</summary>
    public static bool SupportsDeferredWeightGradients(GemmPrecision precision) =>
        SgemmDriver.PanelWidth(KernelDispatch.Resolve(VectorWidth.Auto), precision) != 0;

    /// <summary>True when this sphere's gradient buffer holds tensor <paramref name="t"/> (always, unless compact).</summary>
    public bool HasGradient(ParameterTensor t) => _grads is not null && _gradOffset[(int)t] >= 0;

    /// <summary>Where tensor <paramref name="t"/>'s gradient starts in this sphere's buffer.</summary>
    /// <exception cref="InvalidOperationException">no gradient buffer, or a compact one without the tensor.</exception>
    public float* TensorGradient(ParameterTensor t) =>
        HasGradient(t) ? _grads!.Pointer + _gradOffset[(int)t] : throw new InvalidOperationException($"sphere {SphereIndex} holds no gradient of {ParameterLayout.Name(t)}");

    /// <summary>True when the buffer holds only the tensors the backward writes (see the constructor).</summary>
    public bool HasCompactGradients => _compact;

    /// <summary>The linear layers' GEMM arithmetic.</summary>
    public GemmPrecision Precision => _precision;

    /// <summary>True when the backward leaves the weight matrices' gradients to the trainer (see the constructor).</summary>
    public bool DefersWeightGradients => _deferred;

    // Per layer qkv, attproj, fc, fcproj, then the LM head.
    private int PackedInputIndex(ParameterTensor t, int layer) => t switch
    {
        ParameterTensor.QkvW => 4 * layer,
        ParameterTensor.AttProjW => 4 * layer + 1,
        ParameterTensor.FcW => 4 * layer + 2,
        ParameterTensor.FcProjW => 4 * layer + 3,
        ParameterTensor.Wte => 4 * _cfg.NumLayers,
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, "not a weight matrix"),
    };

    /// <summary>Deferred mode, after <see cref="Backward"/>: the input of matrix <paramref name="t"/> (layer
    /// <paramref name="layer"/>) packed as op(B) of dW = doutputᵀ·input (k = this sphere's tokens).</summary>
    public PackedOperand PackedInput(ParameterTensor t, int layer) => _packedInputs![PackedInputIndex(t, layer)];

    /// <summary>Deferred mode, after <see cref="Backward"/>: doutput of matrix <paramref name="t"/> (layer
    /// <paramref name="layer"/>), tokens × output channels, row-major (the LM head's: dlogits, tokens × Vp).</summary>
    public float* OutputGradient(ParameterTensor t, int layer)
    {
        long R = (long)RowCount * T, C = _cfg.Channels, rc = layer * R * C;
        return _arena.Pointer + t switch
        {
            ParameterTensor.QkvW => _dqkv + 3 * rc,
            ParameterTensor.AttProjW => _dyAttProj + rc,
            ParameterTensor.FcW => _dfch + 4 * rc,
            ParameterTensor.FcProjW => _dyFcProj + rc,
            ParameterTensor.Wte => _logits,
            _ => throw new ArgumentOutOfRangeException(nameof(t), t, "not a weight matrix"),
        };
    }

    /// <summary>Deferred mode, after <see cref="Backward"/>: dLoss/d(embedding output), tokens × C — what the
    /// token embedding's rows receive, one row per token of <see cref="InputTokens"/>.</summary>
    public ReadOnlySpan<float> EncodedGradient => A(_dres, (long)RowCount * T * _cfg.Channels);

    /// <summary>This sphere's input tokens of the current batch (its rows in order).</summary>
    public ReadOnlySpan<int> InputTokens => Inputs;

    public int SphereIndex { get; }
    /// <summary>Batch rows this sphere owns, ascending.</summary>
    public int[] Rows { get; }

    private PackedWeights? _packed; // set for the duration of Forward/Backward
    public int T { get; }
    public int RowCount => Rows.Length;
    /// <summary>Σ of this sphere's per-token losses in the last step (row order).</summary>
    public double LossSum { get; private set; }
    public long ArenaBytes => _arena.ByteLength + _tokens.ByteLength;
    public long GradientBytes => _grads?.ByteLength ?? 0;
    /// <summary>Bytes of the packed weight-matrix inputs kept for deferred weight gradients (0 otherwise).</summary>
    public long PackedInputBytes
    {
        get
        {
            long sum = 0;
            if (_packedInputs is not null) foreach (PackedOperand op in _packedInputs) sum += op.ByteLength;
            return sum;
        }
    }
    /// <summary>The full-layout gradient buffer (null without one).</summary>
    /// <exception cref="InvalidOperationException">the buffer is compact.</exception>
    public float* GradientPointer => _grads is null ? null : !_compact ? _grads.Pointer : throw new InvalidOperationException("a compact gradient buffer has no parameter layout");
    public Span<float> Gradients => !_compact ? _grads!.Span : throw new InvalidOperationException("a compact gradient buffer has no parameter layout");

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
    private Span<float> G(ParameterTensor t) => new(TensorGradient(t), _lay.Size(t));
    private Span<float> GL(ParameterTensor t, int l, int size) => new(TensorGradient(t) + (long)l * (_lay.Size(t) / _cfg.NumLayers), size);

    /// <summary>Forward pass of this sphere's rows against the weights at <paramref name="p"/>; sets <see cref="LossSum"/>.</summary>
    /// <remarks>Walks <see cref="StepProgram.Forward"/> alone; <see cref="LockstepPass"/> walks the same program with
    /// every sphere at once (the stages through <see cref="RunStage"/>, the products through <see cref="ProductArgs"/>).</remarks>
    public void Forward(float* p, PackedWeights? packed = null)
    {
        _packed = packed;
        foreach (StepOp op in _forwardProgram)
        {
            if (op.IsProduct) RunProduct(in op, p);
            else RunStage(in op, p, 0f);
        }
    }

    /// <summary>
    /// Backward pass after <see cref="Forward"/>: overwrites this sphere's gradient buffer with
    /// d(Σ losses · <paramref name="lossScale"/>)/dθ for its rows. The logits are overwritten by dlogits.
    /// </summary>
    public void Backward(float* p, float lossScale, PackedWeights? packed = null)
    {
        _packed = packed;
        foreach (StepOp op in _backwardProgram)
        {
            if (op.IsProduct) RunProduct(in op, p);
            else RunStage(in op, p, lossScale);
        }
    }

    /// <summary>Sets the packed weights the products read (null: each GEMM packs its weight itself) before a lockstep pass.</summary>
    internal void UsePackedWeights(PackedWeights? packed) => _packed = packed;

    // Shape glossary: R = this sphere's tokens (rows × T), C channels, Vp padded vocabulary, L layers.
    // Every activation of layer l is the l-th R×(width) slice of its per-layer block in the arena.

    /// <summary>One stage of <see cref="StepProgram"/> on this sphere (<paramref name="lossScale"/>: the backward's dLoss/dloss_i).</summary>
    public void RunStage(in StepOp op, float* p, float lossScale)
    {
        int b = RowCount, R = b * T, C = _cfg.Channels, NH = _cfg.NumHeads, V = _cfg.VocabSize, Vp = _cfg.PaddedVocabSize, L = _cfg.NumLayers;
        int att = b * NH * T * T, l = op.Layer;
        long rc = (long)l * R * C, r1 = (long)l * R;
        long tm = StepProfile.Start();
        switch (op.Stage)
        {
            case SphereStage.Embedding:
                Embedding.Forward(A(_encoded, (long)R * C), Inputs, P(ParameterTensor.Wte, p), P(ParameterTensor.Wpe, p), b, T, C);
                StepProfile.Lap(StepPhase.Embedding, ref tm);
                break;
            case SphereStage.BlockInput:
            {
                if (l > 0) { MakeBlockOutput(l - 1); StepProfile.Lap(StepPhase.Residual, ref tm); }
                long resIn = BlockInput(l);
                LayerNorm.Forward(A(_ln1 + rc, (long)R * C), A(_ln1Mean + r1, R), A(_ln1Rstd + r1, R), A(resIn, (long)R * C),
                    PL(ParameterTensor.Ln1W, l, p, C), PL(ParameterTensor.Ln1B, l, p, C), R, C);
                StepProfile.Lap(StepPhase.LayerNorm, ref tm);
                break;
            }
            case SphereStage.Attention:
                Attention.Forward(A(_atty + rc, (long)R * C), A(_preatt + (long)l * att, att), A(_att + (long)l * att, att), A(_qkv + 3 * rc, 3L * R * C), b, T, C, NH);
                StepProfile.Lap(StepPhase.Attention, ref tm);
                break;
            case SphereStage.MlpInput:
                Residual.Forward(A(_res2 + rc, (long)R * C), A(BlockInput(l), (long)R * C), A(_attproj + rc, (long)R * C));
                StepProfile.Lap(StepPhase.Residual, ref tm);
                LayerNorm.Forward(A(_ln2 + rc, (long)R * C), A(_ln2Mean + r1, R), A(_ln2Rstd + r1, R), A(_res2 + rc, (long)R * C),
                    PL(ParameterTensor.Ln2W, l, p, C), PL(ParameterTensor.Ln2B, l, p, C), R, C);
                StepProfile.Lap(StepPhase.LayerNorm, ref tm);
                break;
            case SphereStage.Gelu:
                Gelu.Forward(A(_fchGelu + 4 * rc, 4L * R * C), A(_fch + 4 * rc, 4L * R * C));
                StepProfile.Lap(StepPhase.Gelu, ref tm);
                break;
            case SphereStage.HeadInput:
            {
                if (L > 0) { MakeBlockOutput(L - 1); StepProfile.Lap(StepPhase.Residual, ref tm); }
                long resIn = BlockInput(L);
                LayerNorm.Forward(A(_lnf, (long)R * C), A(_lnfMean, R), A(_lnfRstd, R), A(resIn, (long)R * C), P(ParameterTensor.LnfW, p), P(ParameterTensor.LnfB, p), R, C);
                StepProfile.Lap(StepPhase.LayerNorm, ref tm);
                break;
            }
            case SphereStage.Loss:
            {
                SoftmaxCrossEntropy.Forward(A(_losses, R), A(_probs, (long)R * Vp), A(_logits, (long)R * Vp), Targets, R, V, Vp);
                double sum = 0;
                var losses = A(_losses, R);
                for (int i = 0; i < R; i++) sum += losses[i];
                LossSum = sum;
                StepProfile.Lap(StepPhase.SoftmaxCe, ref tm);
                break;
            }
            case SphereStage.LossBackward:
                if (_overwrite)
                {
                    // Tensors the backward accumulates into from their first contribution; everything else is overwritten.
                    G(ParameterTensor.Wpe).Clear();
                    G(ParameterTensor.Ln1W).Clear(); G(ParameterTensor.Ln1B).Clear();
                    G(ParameterTensor.Ln2W).Clear(); G(ParameterTensor.Ln2B).Clear();
                    G(ParameterTensor.LnfW).Clear(); G(ParameterTensor.LnfB).Clear();
                }
                else if (!GradientsZeroed) _grads!.Span.Clear();
                GradientsZeroed = false;
                StepProfile.Lap(StepPhase.GradientZeroing, ref tm);
                SoftmaxCrossEntropy.Backward(A(_logits, (long)R * Vp), A(_probs, (long)R * Vp), Targets, lossScale, R, V, Vp);
                StepProfile.Lap(StepPhase.SoftmaxCe, ref tm);
                break;
            case SphereStage.HeadBackward:
                FinishBackwardProduct(ParameterTensor.Wte, 0);
                StepProfile.Lap(StepPhase.LmHeadBackward, ref tm);
                A(_dres, (long)R * C).Clear();
                StepProfile.Lap(StepPhase.ScratchClear, ref tm);
                LayerNorm.Backward(A(_dres, (long)R * C), G(ParameterTensor.LnfW), G(ParameterTensor.LnfB), A(_dln, (long)R * C), A(BlockInput(L), (long)R * C),
                    P(ParameterTensor.LnfW, p), A(_lnfMean, R), A(_lnfRstd, R), R, C);
                StepProfile.Lap(StepPhase.LayerNorm, ref tm);
                break;
            case SphereStage.GeluBackward:
                // dres holds dLoss/d(res3); the residual passes it to res2 unchanged, plus the MLP branch.
                FinishBackwardProduct(ParameterTensor.FcProjW, l);
                StepProfile.Lap(StepPhase.FcProjBackward, ref tm);
                A(_dfch + 4 * Kept(rc), 4L * R * C).Clear();
                StepProfile.Lap(StepPhase.ScratchClear, ref tm);
                Gelu.Backward(A(_dfch + 4 * Kept(rc), 4L * R * C), A(_fch + 4 * rc, 4L * R * C), A(_dgelu, 4L * R * C));
                StepProfile.Lap(StepPhase.Gelu, ref tm);
                break;
            case SphereStage.Ln2Backward:
                FinishBackwardProduct(ParameterTensor.FcW, l);
                StepProfile.Lap(StepPhase.FcBackward, ref tm);
                LayerNorm.Backward(A(_dres, (long)R * C), GL(ParameterTensor.Ln2W, l, C), GL(ParameterTensor.Ln2B, l, C), A(_dln, (long)R * C), A(_res2 + rc, (long)R * C),
                    PL(ParameterTensor.Ln2W, l, p, C), A(_ln2Mean + r1, R), A(_ln2Rstd + r1, R), R, C);
                StepProfile.Lap(StepPhase.LayerNorm, ref tm);
                break;
            case SphereStage.AttentionBackward:
                // dres now holds dLoss/d(res2); it flows to the block input unchanged, plus the attention branch.
                FinishBackwardProduct(ParameterTensor.AttProjW, l);
                StepProfile.Lap(StepPhase.AttProjBackward, ref tm);
                A(_dqkv + 3 * Kept(rc), 3L * R * C).Clear(); A(_dpreatt, att).Clear(); A(_datt, att).Clear();
                StepProfile.Lap(StepPhase.ScratchClear, ref tm);
                Attention.Backward(A(_dqkv + 3 * Kept(rc), 3L * R * C), A(_dpreatt, att), A(_datt, att), A(_datty, (long)R * C), A(_qkv + 3 * rc, 3L * R * C), A(_att + (long)l * att, att), b, T, C, NH);
                StepProfile.Lap(StepPhase.Attention, ref tm);
                break;
            case SphereStage.Ln1Backward:
                FinishBackwardProduct(ParameterTensor.QkvW, l);
                StepProfile.Lap(StepPhase.QkvBackward, ref tm);
                LayerNorm.Backward(A(_dres, (long)R * C), GL(ParameterTensor.Ln1W, l, C), GL(ParameterTensor.Ln1B, l, C), A(_dln, (long)R * C), A(BlockInput(l), (long)R * C),
                    PL(ParameterTensor.Ln1W, l, p, C), A(_ln1Mean + r1, R), A(_ln1Rstd + r1, R), R, C);
                StepProfile.Lap(StepPhase.LayerNorm, ref tm);
                break;
            case SphereStage.EmbeddingBackward:
                if (_deferred) Embedding.BackwardPositions(G(ParameterTensor.Wpe), A(_dres, (long)R * C), b, T, C); // wte's rows: the trainer's fused reduction
                else Embedding.Backward(G(ParameterTensor.Wte), G(ParameterTensor.Wpe), A(_dres, (long)R * C), Inputs, b, T, C);
                StepProfile.Lap(StepPhase.Embedding, ref tm);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(op), op.Stage, "unknown stage");
        }
    }

    // Input of block l (l = L: of the final layernorm): the embedding, or res3 of the block below (the forward's
    // BlockInput and HeadInput stages make it first: the second residual ends block l − 1).
    private long BlockInput(int l)
    {
        if (l == 0) return _encoded;
        long R = (long)RowCount * T, C = _cfg.Channels, below = (l - 1) * R * C;
        return _res3 + below;
    }

    // Deferred mode keeps dfch and dqkv per layer; otherwise one slice is reused.
    private long Kept(long layerOffset) => _deferred ? layerOffset : 0;

    /// <summary>Forward stages BlockInput and HeadInput first make res3 of the block below (the residual ends the block).</summary>
    private void MakeBlockOutput(int l)
    {
        long R = (long)RowCount * T, C = _cfg.Channels, rc = (long)l * R * C;
        Residual.Forward(A(_res3 + rc, R * C), A(_res2 + rc, R * C), A(_fcproj + rc, R * C));
    }

    /// <summary>A product's operands in this sphere's arena: forward A = the layer input (R×K) and C = its output (R×N);
    /// backward A = doutput (R×K, K = the matrix's output channels) and C = dinput (R×N).</summary>
    private (long A, long C, int K, int N) ProductOperands(ParameterTensor matrix, int l, bool backward)
    {
        long R = (long)RowCount * T, rc = l * R * _cfg.Channels;
        int c = _cfg.Channels, vp = _cfg.PaddedVocabSize;
        if (!backward)
        {
            return matrix switch
            {
                ParameterTensor.QkvW => (_ln1 + rc, _qkv + 3 * rc, c, 3 * c),
                ParameterTensor.AttProjW => (_atty + rc, _attproj + rc, c, c),
                ParameterTensor.FcW => (_ln2 + rc, _fch + 4 * rc, c, 4 * c),
                ParameterTensor.FcProjW => (_fchGelu + 4 * rc, _fcproj + rc, 4 * c, c),
                ParameterTensor.Wte => (_lnf, _logits, c, vp),
                _ => throw new ArgumentOutOfRangeException(nameof(matrix), matrix, "not a weight matrix"),
            };
        }
        return matrix switch
        {
            ParameterTensor.Wte => (_logits, _dln, vp, c),
            ParameterTensor.FcProjW => (_dres, _dgelu, c, 4 * c),
            ParameterTensor.FcW => (_dfch + 4 * Kept(rc), _dln, 4 * c, c),
            ParameterTensor.AttProjW => (_dres, _datty, c, c),
            ParameterTensor.QkvW => (_dqkv + 3 * Kept(rc), _dln, 3 * c, c),
            _ => throw new ArgumentOutOfRangeException(nameof(matrix), matrix, "not a weight matrix"),
        };
    }

    private static ParameterTensor? BiasOf(ParameterTensor matrix) => matrix switch
    {
        ParameterTensor.QkvW => ParameterTensor.QkvB,
        ParameterTensor.AttProjW => ParameterTensor.AttProjB,
        ParameterTensor.FcW => ParameterTensor.FcB,
        ParameterTensor.FcProjW => ParameterTensor.FcProjB,
        _ => null,
    };

    private long MatrixOffset(ParameterTensor matrix, int l) => matrix == ParameterTensor.Wte ? _lay.Offset(matrix) : _lay.LayerOffset(matrix, l);

    private ReadOnlySpan<float> Weight(ParameterTensor matrix, int l, float* p)
    {
        var (o, i) = _lay.MatrixShape(matrix);
        return new ReadOnlySpan<float>(p + MatrixOffset(matrix, l), o * i);
    }

    /// <summary>The forward bias of a product (layer <see cref="StepOp.Layer"/>), or null (the LM head has none).</summary>
    public float* ProductBias(in StepOp op, float* p) =>
        op.IsBackward || BiasOf(op.Matrix) is not ParameterTensor bias ? null : p + _lay.LayerOffset(bias, op.Layer);

    /// <summary>
    /// The product <paramref name="op"/> on this sphere's rows as a GEMM against the weight matrix in
    /// <paramref name="p"/> (forward: op(B) = Wᵀ, β = 1 when the caller starts the output at the bias, else 0;
    /// backward: op(B) = W, β = 0).
    /// </summary>
    public GemmArgs ProductArgs(in StepOp op, float* p, bool startsAtBias)
    {
        var (a, c, k, n) = ProductOperands(op.Matrix, op.Layer, op.IsBackward);
        int inChannels = _lay.MatrixShape(op.Matrix).InChannels; // W is stored out × in
        return new GemmArgs(false, transB: !op.IsBackward, RowCount * T, n, k, 1f, _arena.Pointer + a, k,
            p + MatrixOffset(op.Matrix, op.Layer), inChannels, startsAtBias ? 1f : 0f, _arena.Pointer + c, n);
    }

    /// <summary>A product of <see cref="StepProgram"/> by this sphere alone (the backward's: dinput only; the stage after it finishes dW and dbias).</summary>
    private void RunProduct(in StepOp op, float* p)
    {
        long tm = StepProfile.Start();
        var (a, c, k, n) = ProductOperands(op.Matrix, op.Layer, op.IsBackward);
        int R = RowCount * T;
        ReadOnlySpan<float> input = A(a, (long)R * k);
        Span<float> output = A(c, (long)R * n);
        ReadOnlySpan<float> weight = Weight(op.Matrix, op.Layer, p);
        if (!op.IsBackward)
        {
            ReadOnlySpan<float> bias = BiasOf(op.Matrix) is ParameterTensor bt ? PL(bt, op.Layer, p, n) : ReadOnlySpan<float>.Empty;
            LinearForward(output, input, op.Matrix, op.Layer, weight, bias, R, k, n);
        }
        else if (!_overwrite)
        {
            // Zero-then-accumulate scheme: Linear.Backward makes dinput, dW and dbias at once.
            var (fwdA, _, _, _) = ProductOperands(op.Matrix, op.Layer, backward: false);
            Span<float> dbias = BiasOf(op.Matrix) is ParameterTensor bt ? GL(bt, op.Layer, k) : Span<float>.Empty;
            output.Clear();
            Linear.Backward(output, MatrixGradient(op.Matrix, op.Layer), dbias, input, A(fwdA, (long)R * n), weight, R, n, k, null, VectorWidth.Auto, _precision);
        }
        // dinput = doutput·W (β = 0: no read of the old values, no clearing pass).
        else if (_packed is not null) Sgemm.MultiplyPacked(false, R, n, k, 1f, input, k, _packed.Backward(op.Matrix, op.Layer), 0, 0f, output, n);
        else Sgemm.Multiply(false, false, R, n, k, 1f, input, k, weight, n, 0f, output, n, null, VectorWidth.Auto, _precision);
        StepProfile.Lap(op.ProductPhase, ref tm);
    }

    /// <summary>
    /// The rest of a backward product after its dinput (overwrite mode): dweight = doutputᵀ·input (β = 0), or its
    /// operands kept for the fused reduction, and dbias = Σ_r doutput[r] starting from row 0 then adding rows in
    /// order — bit for bit what Linear.Backward accumulates onto zeroed buffers.
    /// </summary>
    private void FinishBackwardProduct(ParameterTensor matrix, int l)
    {
        if (!_overwrite) return; // Linear.Backward made everything with the dinput
        int R = RowCount * T;
        var (inputAt, _, inChannels, outChannels) = ProductOperands(matrix, l, backward: false);
        var (doutputAt, _, _, _) = ProductOperands(matrix, l, backward: true);
        ReadOnlySpan<float> input = A(inputAt, (long)R * inChannels);
        ReadOnlySpan<float> doutput = A(doutputAt, (long)R * outChannels);
        if (_deferred) KeepWeightGradientOperands(doutput, input, matrix, l, R, inChannels, outChannels);
        else Sgemm.Multiply(true, false, outChannels, inChannels, R, 1f, doutput, outChannels, input, inChannels, 0f, MatrixGradient(matrix, l), inChannels, null, VectorWidth.Auto, _precision);
        if (BiasOf(matrix) is not ParameterTensor biasTensor) return;
        Span<float> dbias = GL(biasTensor, l, outChannels);
        if (R == 0) { dbias.Clear(); return; }
        doutput[..outChannels].CopyTo(dbias);
        for (int r = 1; r < R; r++) VectorMath.AddTo(dbias, doutput.Slice(r * outChannels, outChannels));
    }

    // A weight matrix's gradient in this sphere's buffer (not deferred).
    private Span<float> MatrixGradient(ParameterTensor matrix, int l)
    {
        var (o, i) = _lay.MatrixShape(matrix);
        long within = MatrixOffset(matrix, l) - _lay.Offset(matrix);
        return new Span<float>(TensorGradient(matrix) + within, o * i);
    }

    /// <summary>
    /// Deferred mode: what dweight = doutputᵀ·input needs later. The input is packed now as op(B) (it is
    /// read here anyway); doutput is copied when it lives in dres, which the backward goes on changing
    /// (dfch, dqkv and dlogits already have a buffer of their own per layer).
    /// </summary>
    private void KeepWeightGradientOperands(ReadOnlySpan<float> doutput, ReadOnlySpan<float> input, ParameterTensor tensor, int layer, int R, int C, int OC)
    {
        fixed (float* pin = input) PackedInput(tensor, layer).PackPart(pin, C, 0, 1);
        if (tensor is ParameterTensor.FcProjW or ParameterTensor.AttProjW)
            doutput[..(R * OC)].CopyTo(new Span<float>(OutputGradient(tensor, layer), R * OC));
    }

    /// <summary>Linear.Forward with the weight's pre-packed operand when the trainer provides one.</summary>
    private void LinearForward(Span<float> output, ReadOnlySpan<float> input, ParameterTensor tensor, int layer,
        ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, int R, int C, int OC)
    {
        if (_packed is null) Linear.Forward(output, input, weight, bias, R, C, OC, null, VectorWidth.Auto, _precision);
        else Linear.Forward(output, input, _packed.Forward(tensor, layer), bias, R, C, OC);
    }

    public void Dispose()
    {
        _arena.Dispose();
        _tokens.Dispose();
        _grads?.Dispose();
        if (_packedInputs is not null) foreach (PackedOperand op in _packedInputs) op.Dispose();
    }
}
