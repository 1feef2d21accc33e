using Crystalline.Hpc.Kernels;
using Crystalline.Hpc.Kernels.Gemm;
using Crystalline.Hpc.Model;
using Crystalline.Hpc.Scheduling;

namespace Crystalline.Hpc.Training;

/// <summary>
/// Every weight matrix the spheres multiply by, packed for the GEMM kernel once per use of a weight
/// version rather than once per sphere and GEMM: the forward operand (input·Wᵀ) and the backward
/// operand (dinput = doutput·W) of the four matrices of every block and of the tied LM head (wte).
/// At m = 64 rows per sphere, packing B is a fifth to a quarter of each of those GEMMs, and they are
/// two thirds of the step's multiply-adds. Same bits as packing inside the GEMM (tested).
/// </summary>
/// <remarks>Memory: two packed copies of those matrices (≈ 0.95 GB at gpt2-124M; a few hundred KB for
/// the tiny model). Packing is one <see cref="ISphereExecutor.RunParallel"/> over column blocks of all
/// operands; it allocates nothing after construction.</remarks>
internal sealed unsafe class PackedWeights : IDisposable, IParallelWork
{
    private const int BlocksPerOperand = 8;

    private readonly ParameterLayout _layout;
    private readonly PackedOperand[] _operands;
    private readonly long[] _sourceOffset; // where the operand's source matrix starts in the parameter vector
    private readonly int[] _sourceLd;
    private readonly int _layers;
    private float* _parameters;

    /// <summary>Null when the GEMM at <paramref name="width"/> does not pack (the scalar reference).</summary>
    public static PackedWeights? TryCreate(ParameterLayout layout, VectorWidth width = VectorWidth.Auto, GemmPrecision precision = GemmPrecision.Fp32) =>
        SgemmDriver.PanelWidth(KernelDispatch.Resolve(width), precision) == 0 ? null : new PackedWeights(layout, width, precision);

    private PackedWeights(ParameterLayout layout, VectorWidth width, GemmPrecision precision)
    {
        _layout = layout;
        _layers = layout.Config.NumLayers;
        var ops = new List<PackedOperand>();
        var offsets = new List<long>();
        var lds = new List<int>();
        void Add(ParameterTensor t, int layer)
        {
            // Forward: op(B) = Wᵀ (k = in, n = out), W stored out×in. Backward: op(B) = W (k = out, n = in).
            var (outChannels, inChannels) = layout.MatrixShape(t);
            long offset = layout.LayerOffset(t, layer);
            ops.Add(new PackedOperand(inChannels, outChannels, transB: true, width, precision)); offsets.Add(offset); lds.Add(inChannels);
            ops.Add(new PackedOperand(outChannels, inChannels, transB: false, width, precision)); offsets.Add(offset); lds.Add(inChannels);
        }
        for (int l = 0; l < _layers; l++)
        {
            Add(ParameterTensor.QkvW, l);
            Add(ParameterTensor.AttProjW, l);
            Add(ParameterTensor.FcW, l);
            Add(ParameterTensor.FcProjW, l);
        }
        Add(ParameterTensor.Wte, 0);
        _operands = ops.ToArray();
        _sourceOffset = offsets.ToArray();
        _sourceLd = lds.ToArray();
    }

    /// <summary>Bytes held by the packed copies.</summary>
    public long Bytes
    {
        get
        {
            long sum = 0;
            foreach (PackedOperand op in _operands) sum += op.ByteLength;
            return sum;
        }
    }

    /// <summary>Packs every operand from the weights at <paramref name="parameters"/>, split over the executor's workers.</summary>
    public void Pack(float* parameters, ISphereExecutor executor)
    {
        _parameters = parameters;
        executor.RunParallel(this, _operands.Length * BlocksPerOperand);
        _parameters = null;
    }

    public void ExecuteItem(int itemIndex, int workerIndex)
    {
        long c0 = StepProfile.Start();
        int o = itemIndex / BlocksPerOperand;
        _operands[o].PackPart(_parameters + _sourceOffset[o], _sourceLd[o], itemIndex % BlocksPerOperand, BlocksPerOperand);
        StepProfile.Lap(StepPhase.WeightPacking, ref c0);
    }

    // Operand order: per layer qkv, attproj, fc, fcproj (forward, backward each), then wte.
    private int Index(ParameterTensor t, int layer) => t switch
    {
        ParameterTensor.QkvW => layer * 8,
        ParameterTensor.AttProjW => layer * 8 + 2,
        ParameterTensor.FcW => layer * 8 + 4,
        ParameterTensor.FcProjW => layer * 8 + 6,
        ParameterTensor.Wte => _layers * 8,
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, "not a matrix the spheres multiply by"),
    };

    /// <summary>op(B) = Wᵀ for the forward output = input·Wᵀ.</summary>
    public PackedOperand Forward(ParameterTensor t, int layer = 0) => _operands[Index(t, layer)];

    /// <summary>op(B) = W for the backward dinput = doutput·W.</summary>
    public PackedOperand Backward(ParameterTensor t, int layer = 0) => _operands[Index(t, layer) + 1];

    public void Dispose()
    {
        foreach (PackedOperand op in _operands) op.Dispose();
    }
}
