using Crystalline.Hpc.Model;

namespace Crystalline.Hpc.Training;

/// <summary>The work of one sphere between two products by a weight matrix (see <see cref="StepProgram"/>).</summary>
internal enum SphereStage : byte
{
    /// <summary>Forward: token + position embedding.</summary>
    Embedding,
    /// <summary>Forward: the layer below's second residual (layer &gt; 0), then LN1.</summary>
    BlockInput,
    /// <summary>Forward: causal self-attention over the qkv product.</summary>
    Attention,
    /// <summary>Forward: the first residual, then LN2.</summary>
    MlpInput,
    /// <summary>Forward: GELU of the fc product.</summary>
    Gelu,
    /// <summary>Forward: the last block's second residual, then the final layernorm.</summary>
    HeadInput,
    /// <summary>Forward: softmax, cross-entropy and the loss sum.</summary>
    Loss,
    /// <summary>Backward: clears the accumulated small gradients; dlogits.</summary>
    LossBackward,
    /// <summary>Backward: finishes the LM head's product (its weight-gradient operands), then the final layernorm's backward.</summary>
    HeadBackward,
    /// <summary>Backward: finishes fcproj's product (dW or its operands, dbias), then GELU's backward.</summary>
    GeluBackward,
    /// <summary>Backward: finishes fc's product, then LN2's backward.</summary>
    Ln2Backward,
    /// <summary>Backward: finishes attproj's product, then attention's backward.</summary>
    AttentionBackward,
    /// <summary>Backward: finishes qkv's product, then LN1's backward.</summary>
    Ln1Backward,
    /// <summary>Backward: the position embedding's gradient (and the token embedding's rows unless deferred).</summary>
    EmbeddingBackward,
}

/// <summary>
/// One operation of a sphere's forward or backward: a stage of per-sphere work, or the product of the
/// sphere's rows by a weight matrix (forward: output = input·Wᵀ + bias; backward: dinput = doutput·W).
/// </summary>
internal readonly record struct StepOp(SphereStage Stage, ParameterTensor Matrix, int Layer, bool IsProduct, bool IsBackward)
{
    public static StepOp Work(SphereStage stage, int layer = 0) => new(stage, default, layer, false, false);
    public static StepOp Product(ParameterTensor matrix, int layer, bool backward) => new(default, matrix, layer, true, backward);

    /// <summary>The profile phase a product's time is charged to.</summary>
    public StepPhase ProductPhase => (Matrix, IsBackward) switch
    {
        (ParameterTensor.QkvW, false) => StepPhase.QkvForward,
        (ParameterTensor.AttProjW, false) => StepPhase.AttProjForward,
        (ParameterTensor.FcW, false) => StepPhase.FcForward,
        (ParameterTensor.FcProjW, false) => StepPhase.FcProjForward,
        (ParameterTensor.Wte, false) => StepPhase.LmHeadForward,
        (ParameterTensor.QkvW, true) => StepPhase.QkvBackward,
        (ParameterTensor.AttProjW, true) => StepPhase.AttProjBackward,
        (ParameterTensor.FcW, true) => StepPhase.FcBackward,
        (ParameterTensor.FcProjW, true) => StepPhase.FcProjBackward,
        _ => StepPhase.LmHeadBackward,
    };
}

/// <summary>
/// The forward and the backward of the CLLM as one fixed sequence of operations, written once: a sphere
/// running alone walks it op by op (<see cref="SphereWorkspace.Forward"/>), and the lockstep pass
/// (<see cref="LockstepPass"/>) walks it with every sphere at once — each stage over the spheres in
/// parallel, each product over column blocks of the weight for all spheres' rows together — so both
/// do exactly the same arithmetic on every sphere.
/// </summary>
internal static class StepProgram
{
    /// <summary>The forward of an <paramref name="layers"/>-layer model, embedding to loss.</summary>
    public static StepOp[] Forward(int layers)
    {
        var ops = new List<StepOp> { StepOp.Work(SphereStage.Embedding) };
        for (int l = 0; l < layers; l++)
        {
            ops.Add(StepOp.Work(SphereStage.BlockInput, l));
            ops.Add(StepOp.Product(ParameterTensor.QkvW, l, false));
            ops.Add(StepOp.Work(SphereStage.Attention, l));
            ops.Add(StepOp.Product(ParameterTensor.AttProjW, l, false));
            ops.Add(StepOp.Work(SphereStage.MlpInput, l));
            ops.Add(StepOp.Product(ParameterTensor.FcW, l, false));
            ops.Add(StepOp.Work(SphereStage.Gelu, l));
            ops.Add(StepOp.Product(ParameterTensor.FcProjW, l, false));
        }
        ops.Add(StepOp.Work(SphereStage.HeadInput));
        ops.Add(StepOp.Product(ParameterTensor.Wte, 0, false));
        ops.Add(StepOp.Work(SphereStage.Loss));
        return ops.ToArray();
    }

    /// <summary>The backward, loss to embedding: each backward product is followed by the stage that finishes it.</summary>
    public static StepOp[] Backward(int layers)
    {
        var ops = new List<StepOp> { StepOp.Work(SphereStage.LossBackward), StepOp.Product(ParameterTensor.Wte, 0, true), StepOp.Work(SphereStage.HeadBackward) };
        for (int l = layers - 1; l >= 0; l--)
        {
            ops.Add(StepOp.Product(ParameterTensor.FcProjW, l, true));
            ops.Add(StepOp.Work(SphereStage.GeluBackward, l));
            ops.Add(StepOp.Product(ParameterTensor.FcW, l, true));
            ops.Add(StepOp.Work(SphereStage.Ln2Backward, l));
            ops.Add(StepOp.Product(ParameterTensor.AttProjW, l, true));
            ops.Add(StepOp.Work(SphereStage.AttentionBackward, l));
            ops.Add(StepOp.Product(ParameterTensor.QkvW, l, true));
            ops.Add(StepOp.Work(SphereStage.Ln1Backward, l));
        }
        ops.Add(StepOp.Work(SphereStage.EmbeddingBackward));
        return ops.ToArray();
    }
}
