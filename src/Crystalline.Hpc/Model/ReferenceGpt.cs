using System.Numerics;

namespace Crystalline.Hpc.Model;

/// <summary>
/// The plain, single-threaded reference of the CLLM's forward and backward pass: every row of the
/// batch in one pass, scalar loops written for clarity, generic over the float type so tests can run
/// it in double (finite differences) or float. It shares no code with the kernels or the trainer:
/// it is the anchor the parallel step is checked against.
/// </summary>
/// <remarks>
/// Math (llm.c's GPT-2): x = wte[tok] + wpe[t]; per layer x += attproj(attn(ln1(x))), x += fcproj(gelu(fc(ln2(x))));
/// logits = lnf(x)·wteᵀ; loss = mean over all B·T positions of −log softmax(logits[:V])[target].
/// Layernorm ε = 1e-5, GELU in its tanh form, attention scale 1/√(C/NH), causal.
/// </remarks>
internal static class ReferenceGpt<TF> where TF : unmanaged, IFloatingPointIeee754<TF>
{
    private static TF F(double x) => TF.CreateChecked(x);

    /// <summary>
    /// Runs the model on <paramref name="inputs"/> (B·T tokens) and returns the mean cross-entropy
    /// against <paramref name="targets"/>. When <paramref name="gradients"/> is given (length =
    /// parameter count) it is overwritten with dLoss/dParameters; when <paramref name="logitsOut"/> is
    /// given (B·T·Vp) it receives the logits.
    /// </summary>
    public static TF Run(GptConfig cfg, ReadOnlySpan<TF> parameters, ReadOnlySpan<int> inputs, ReadOnlySpan<int> targets,
                         int B, int T, TF[]? gradients = null, TF[]? logitsOut = null)
    {
        var lay = new ParameterLayout(cfg);
        if (parameters.Length != lay.Count) throw new ArgumentException("parameter vector length does not match the model", nameof(parameters));
        if (T > cfg.MaxSeqLen) throw new ArgumentException("sequence longer than maxT", nameof(T));
        if (inputs.Length != B * T || targets.Length != B * T) throw new ArgumentException("inputs and targets must hold B·T tokens");
        int C = cfg.Channels, L = cfg.NumLayers, NH = cfg.NumHeads, V = cfg.VocabSize, Vp = cfg.PaddedVocabSize, R = B * T;
        for (int i = 0; i < R; i++)
        {
            if ((uint)inputs[i] >= (uint)V || (uint)targets[i] >= (uint)V) throw new ArgumentException($"token out of range at {i}");
        }
        TF[] p = parameters.ToArray();
        int P(ParameterTensor t) => lay.Offset(t);
        int PL(ParameterTensor t, int l) => lay.LayerOffset(t, l);

        // ---- forward, keeping every activation the backward needs ----
        var encoded = new TF[R * C];
        for (int r = 0; r < R; r++)
        {
            int t = r % T;
            for (int c = 0; c < C; c++) encoded[r * C + c] = p[P(ParameterTensor.Wte) + inputs[r] * C + c] + p[P(ParameterTensor.Wpe) + t * C + c];
        }
        var resIn = new TF[L][]; var ln1 = new TF[L][]; var ln1Mean = new TF[L][]; var ln1Rstd = new TF[L][];
        var qkv = new TF[L][]; var att = new TF[L][]; var atty = new TF[L][]; var res2 = new TF[L][];
        var ln2 = new TF[L][]; var ln2Mean = new TF[L][]; var ln2Rstd = new TF[L][]; var fch = new TF[L][]; var fchGelu = new TF[L][];
        TF[] x = encoded;
        for (int l = 0; l < L; l++)
        {
            resIn[l] = x;
            (ln1[l], ln1Mean[l], ln1Rstd[l]) = LayerNorm(x, p, PL(ParameterTensor.Ln1W, l), PL(ParameterTensor.Ln1B, l), R, C);
            qkv[l] = Matmul(ln1[l], p, PL(ParameterTensor.QkvW, l), PL(ParameterTensor.QkvB, l), R, C, 3 * C);
            (atty[l], att[l]) = Attention(qkv[l], B, T, C, NH);
            TF[] attProj = Matmul(atty[l], p, PL(ParameterTensor.AttProjW, l), PL(ParameterTensor.AttProjB, l), R, C, C);
            res2[l] = new TF[R * C];
            for (int i = 0; i < R * C; i++) res2[l][i] = x[i] + attProj[i];
            (ln2[l], ln2Mean[l], ln2Rstd[l]) = LayerNorm(res2[l], p, PL(ParameterTensor.Ln2W, l), PL(ParameterTensor.Ln2B, l), R, C);
            fch[l] = Matmul(ln2[l], p, PL(ParameterTensor.FcW, l), PL(ParameterTensor.FcB, l), R, C, 4 * C);
            fchGelu[l] = new TF[R * 4 * C];
            for (int i = 0; i < R * 4 * C; i++) fchGelu[l][i] = Gelu(fch[l][i]);
            TF[] fcProj = Matmul(fchGelu[l], p, PL(ParameterTensor.FcProjW, l), PL(ParameterTensor.FcProjB, l), R, 4 * C, C);
            var res3 = new TF[R * C];
            for (int i = 0; i < R * C; i++) res3[i] = res2[l][i] + fcProj[i];
            x = res3;
        }
        (TF[] lnf, TF[] lnfMean, TF[] lnfRstd) = LayerNorm(x, p, P(ParameterTensor.LnfW), P(ParameterTensor.LnfB), R, C);
        TF[] logits = Matmul(lnf, p, P(ParameterTensor.Wte), -1, R, C, Vp);
        logitsOut?.AsSpan().Clear();
        if (logitsOut is not null) logits.CopyTo(logitsOut, 0);

        var probs = new TF[R * Vp];
        TF loss = TF.Zero;
        for (int r = 0; r < R; r++)
        {
            TF max = TF.NegativeInfinity;
            for (int v = 0; v < V; v++) max = TF.Max(max, logits[r * Vp + v]);
            TF sum = TF.Zero;
            for (int v = 0; v < V; v++) { probs[r * Vp + v] = TF.Exp(logits[r * Vp + v] - max); sum += probs[r * Vp + v]; }
            for (int v = 0; v < V; v++) probs[r * Vp + v] /= sum;
            loss -= TF.Log(probs[r * Vp + targets[r]]);
        }
        loss /= F(R);
        if (gradients is null) return loss;

        // ---- backward ----
        if (gradients.Length != lay.Count) throw new ArgumentException("gradient vector length does not match the model", nameof(gradients));
        TF[] g = gradients;
        Array.Clear(g);
        TF scale = TF.One / F(R);
        var dlogits = new TF[R * Vp];
        for (int r = 0; r < R; r++)
            for (int v = 0; v < V; v++)
                dlogits[r * Vp + v] = (probs[r * Vp + v] - (v == targets[r] ? TF.One : TF.Zero)) * scale;
        var dlnf = new TF[R * C];
        MatmulBackward(dlnf, g, P(ParameterTensor.Wte), -1, dlogits, lnf, p, P(ParameterTensor.Wte), R, C, Vp);
        var dx = new TF[R * C];
        LayerNormBackward(dx, g, P(ParameterTensor.LnfW), P(ParameterTensor.LnfB), dlnf, x, p, P(ParameterTensor.LnfW), lnfMean, lnfRstd, R, C);
        for (int l = L - 1; l >= 0; l--)
        {
            // x_out = res2 + fcproj(...): dres2 gets dx directly, plus the MLP path.
            var dres2 = (TF[])dx.Clone();
            var dgelu = new TF[R * 4 * C];
            MatmulBackward(dgelu, g, PL(ParameterTensor.FcProjW, l), PL(ParameterTensor.FcProjB, l), dx, fchGelu[l], p, PL(ParameterTensor.FcProjW, l), R, 4 * C, C);
            var dfch = new TF[R * 4 * C];
            for (int i = 0; i < R * 4 * C; i++) dfch[i] = GeluDerivative(fch[l][i]) * dgelu[i];
            var dln2 = new TF[R * C];
            MatmulBackward(dln2, g, PL(ParameterTensor.FcW, l), PL(ParameterTensor.FcB, l), dfch, ln2[l], p, PL(ParameterTensor.FcW, l), R, C, 4 * C);
            LayerNormBackward(dres2, g, PL(ParameterTensor.Ln2W, l), PL(ParameterTensor.Ln2B, l), dln2, res2[l], p, PL(ParameterTensor.Ln2W, l), ln2Mean[l], ln2Rstd[l], R, C);
            // res2 = resIn + attproj(...)
            var dresIn = (TF[])dres2.Clone();
            var datty = new TF[R * C];
            MatmulBackward(datty, g, PL(ParameterTensor.AttProjW, l), PL(ParameterTensor.AttProjB, l), dres2, atty[l], p, PL(ParameterTensor.AttProjW, l), R, C, C);
            var dqkv = new TF[R * 3 * C];
            AttentionBackward(dqkv, datty, qkv[l], att[l], B, T, C, NH);
            var dln1 = new TF[R * C];
            MatmulBackward(dln1, g, PL(ParameterTensor.QkvW, l), PL(ParameterTensor.QkvB, l), dqkv, ln1[l], p, PL(ParameterTensor.QkvW, l), R, C, 3 * C);
            LayerNormBackward(dresIn, g, PL(ParameterTensor.Ln1W, l), PL(ParameterTensor.Ln1B, l), dln1, resIn[l], p, PL(ParameterTensor.Ln1W, l), ln1Mean[l], ln1Rstd[l], R, C);
            dx = dresIn;
        }
        for (int r = 0; r < R; r++)
        {
            int t = r % T;
            for (int c = 0; c < C; c++)
            {
                g[P(ParameterTensor.Wte) + inputs[r] * C + c] += dx[r * C + c];
                g[P(ParameterTensor.Wpe) + t * C + c] += dx[r * C + c];
            }
        }
        return loss;
    }

    private static (TF[] Out, TF[] Mean, TF[] Rstd) LayerNorm(TF[] x, TF[] p, int w, int b, int R, int C)
    {
        var y = new TF[R * C]; var mean = new TF[R]; var rstd = new TF[R];
        for (int r = 0; r < R; r++)
        {
            TF m = TF.Zero;
            for (int c = 0; c < C; c++) m += x[r * C + c];
            m /= F(C);
            TF var = TF.Zero;
            for (int c = 0; c < C; c++) { TF d = x[r * C + c] - m; var += d * d; }
            var /= F(C);
            TF s = TF.One / TF.Sqrt(var + F(1e-5));
            for (int c = 0; c < C; c++) y[r * C + c] = (x[r * C + c] - m) * s * p[w + c] + p[b + c];
            mean[r] = m; rstd[r] = s;
        }
        return (y, mean, rstd);
    }

    private static void LayerNormBackward(TF[] dx, TF[] g, int dw, int db, TF[] dy, TF[] x, TF[] p, int w, TF[] mean, TF[] rstd, int R, int C)
    {
        for (int r = 0; r < R; r++)
        {
            TF dnormMean = TF.Zero, dnormNormMean = TF.Zero;
            for (int c = 0; c < C; c++)
            {
                TF norm = (x[r * C + c] - mean[r]) * rstd[r];
                TF dnorm = p[w + c] * dy[r * C + c];
                dnormMean += dnorm;
                dnormNormMean += dnorm * norm;
            }
            dnormMean /= F(C); dnormNormMean /= F(C);
            for (int c = 0; c < C; c++)
            {
                TF norm = (x[r * C + c] - mean[r]) * rstd[r];
                TF dnorm = p[w + c] * dy[r * C + c];
                g[db + c] += dy[r * C + c];
                g[dw + c] += norm * dy[r * C + c];
                dx[r * C + c] += (dnorm - dnormMean - norm * dnormNormMean) * rstd[r];
            }
        }
    }

    /// <summary>y[R×OC] = x[R×IC] · Wᵀ + b, with W stored OC×IC at p[w]; b at p[b] unless b &lt; 0.</summary>
    private static TF[] Matmul(TF[] x, TF[] p, int w, int b, int R, int IC, int OC)
    {
        var y = new TF[R * OC];
        for (int r = 0; r < R; r++)
            for (int o = 0; o < OC; o++)
            {
                TF s = b >= 0 ? p[b + o] : TF.Zero;
                for (int i = 0; i < IC; i++) s += x[r * IC + i] * p[w + o * IC + i];
                y[r * OC + o] = s;
            }
        return y;
    }

    /// <summary>dx += dy·W; dW += dyᵀ·x; db += Σ dy (db skipped when &lt; 0).</summary>
    private static void MatmulBackward(TF[] dx, TF[] g, int dw, int db, TF[] dy, TF[] x, TF[] p, int w, int R, int IC, int OC)
    {
        for (int r = 0; r < R; r++)
            for (int o = 0; o < OC; o++)
            {
                TF d = dy[r * OC + o];
                if (db >= 0) g[db + o] += d;
                for (int i = 0; i < IC; i++)
                {
                    dx[r * IC + i] += d * p[w + o * IC + i];
                    g[dw + o * IC + i] += d * x[r * IC + i];
                }
            }
    }

    private static (TF[] Out, TF[] Att) Attention(TF[] qkv, int B, int T, int C, int NH)
    {
        int hs = C / NH;
        TF scale = TF.One / TF.Sqrt(F(hs));
        var y = new TF[B * T * C];
        var att = new TF[B * NH * T * T];
        for (int b = 0; b < B; b++)
            for (int h = 0; h < NH; h++)
                for (int t = 0; t < T; t++)
                {
                    int q = (b * T + t) * 3 * C + h * hs;
                    int a = ((b * NH + h) * T + t) * T;
                    TF max = TF.NegativeInfinity;
                    for (int t2 = 0; t2 <= t; t2++)
                    {
                        int k = (b * T + t2) * 3 * C + C + h * hs;
                        TF s = TF.Zero;
                        for (int i = 0; i < hs; i++) s += qkv[q + i] * qkv[k + i];
                        att[a + t2] = s * scale;
                        max = TF.Max(max, att[a + t2]);
                    }
                    TF sum = TF.Zero;
                    for (int t2 = 0; t2 <= t; t2++) { att[a + t2] = TF.Exp(att[a + t2] - max); sum += att[a + t2]; }
                    for (int t2 = 0; t2 <= t; t2++) att[a + t2] /= sum;
                    for (int t2 = 0; t2 <= t; t2++)
                    {
                        int v = (b * T + t2) * 3 * C + 2 * C + h * hs;
                        for (int i = 0; i < hs; i++) y[(b * T + t) * C + h * hs + i] += att[a + t2] * qkv[v + i];
                    }
                }
        return (y, att);
    }

    private static void AttentionBackward(TF[] dqkv, TF[] dy, TF[] qkv, TF[] att, int B, int T, int C, int NH)
    {
        int hs = C / NH;
        TF scale = TF.One / TF.Sqrt(F(hs));
        var datt = new TF[T];
        var dpre = new TF[T];
        for (int b = 0; b < B; b++)
            for (int h = 0; h < NH; h++)
                for (int t = 0; t < T; t++)
                {
                    int a = ((b * NH + h) * T + t) * T;
                    int o = (b * T + t) * C + h * hs;
                    for (int t2 = 0; t2 <= t; t2++)
                    {
                        int v = (b * T + t2) * 3 * C + 2 * C + h * hs;
                        TF s = TF.Zero;
                        for (int i = 0; i < hs; i++)
                        {
                            s += qkv[v + i] * dy[o + i];
                            dqkv[v + i] += att[a + t2] * dy[o + i];
                        }
                        datt[t2] = s;
                    }
                    TF dot = TF.Zero;
                    for (int t2 = 0; t2 <= t; t2++) dot += att[a + t2] * datt[t2];
                    for (int t2 = 0; t2 <= t; t2++) dpre[t2] = att[a + t2] * (datt[t2] - dot);
                    int q = (b * T + t) * 3 * C + h * hs;
                    for (int t2 = 0; t2 <= t; t2++)
                    {
                        int k = (b * T + t2) * 3 * C + C + h * hs;
                        for (int i = 0; i < hs; i++)
                        {
                            dqkv[q + i] += dpre[t2] * qkv[k + i] * scale;
                            dqkv[k + i] += dpre[t2] * qkv[q + i] * scale;
                        }
                    }
                }
    }

    private static TF Gelu(TF x)
    {
        TF k = TF.Sqrt(F(2.0 / Math.PI));
        return F(0.5) * x * (TF.One + TF.Tanh(k * (x + F(0.044715) * x * x * x)));
    }

    private static TF GeluDerivative(TF x)
    {
        TF k = TF.Sqrt(F(2.0 / Math.PI));
        TF u = k * (x + F(0.044715) * x * x * x);
        TF th = TF.Tanh(u);
        return F(0.5) * (TF.One + th) + F(0.5) * x * (TF.One - th * th) * k * (TF.One + F(3 * 0.044715) * x * x);
    }
}
