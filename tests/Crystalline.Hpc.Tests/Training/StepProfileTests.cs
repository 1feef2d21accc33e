using Crystalline.Hpc.Model;
using Crystalline.Hpc.Scheduling;
using Crystalline.Hpc.Tests.Scheduling;
using Crystalline.Hpc.Training;
using Xunit;
using static Crystalline.Hpc.Tests.Training.TrainingTestUtil;

namespace Crystalline.Hpc.Tests.Training;

/// <summary>
/// The profile's fork-join accounting (bench `train-step --profile`): every region of a step is counted once
/// per call, and per region wall ≥ busiest worker ≥ mean worker. StepProfile is process-wide, so these run
/// alone (no other trainer may add to it while profiling is on).
/// </summary>
[Collection(nameof(AllocationSensitive))]
public class StepProfileTests
{
    private static readonly GptConfig Model = new(MaxSeqLen: 8, VocabSize: 300, PaddedVocabSize: 336, NumLayers: 2, NumHeads: 2, Channels: 80);

    private static void ProfileOneStep(bool lockstep, Action check)
    {
        TrainerOptions options = Options(4, 8, 1, Model);
        using var cp = new ControlProcess(new ControlProcessOptions { WorkerCount = 2, HierarchyDepth = 1, SpinRounds = 50 });
        using var trainer = new Trainer(options, cp, fuseWeightGradients: true, lockstep: lockstep);
        int n = options.BatchSize * options.SeqLen, V = options.Model.VocabSize;
        trainer.Step(Tokens(n, V, 1), Tokens(n, V, 2)); // warm-up, not counted
        StepProfile.Reset();
        StepProfile.Enabled = true;
        try { trainer.Step(Tokens(n, V, 3), Tokens(n, V, 4)); }
        finally { StepProfile.Enabled = false; }
        check();
        StepProfile.Reset();
    }

    private static void AssertConsistent(StepRegion region, long calls, int workers)
    {
        var (c, wall, busiest, busy) = StepProfile.Region(region);
        Assert.Equal(calls, c);
        if (calls == 0) return;
        Assert.True(busy > 0, $"{region}: no item time");
        Assert.True(busiest >= busy / workers - 1e-9, $"{region}: busiest {busiest} < mean {busy / workers}");
        Assert.True(busiest <= busy + 1e-9, $"{region}: busiest {busiest} > sum {busy}");
        Assert.True(wall >= busiest, $"{region}: wall {wall} < busiest {busiest}");
    }

    [Fact]
    public void Lockstep_step_counts_every_stage_and_product_once()
    {
        StepOp[] program = [.. StepProgram.Forward(Model.NumLayers), .. StepProgram.Backward(Model.NumLayers)];
        long products = program.Count(op => op.IsProduct);
        ProfileOneStep(lockstep: true, () =>
        {
            AssertConsistent(StepRegion.Stage, program.Length - products, 2);
            AssertConsistent(StepRegion.Product, products, 2);
            AssertConsistent(StepRegion.WeightGradients, 1, 2);
            AssertConsistent(StepRegion.Reduction, 1, 2);
            AssertConsistent(StepRegion.Optimizer, 1, 2);
            AssertConsistent(StepRegion.Epoch, 0, 2);
        });
    }

    [Fact]
    public void Epoch_step_counts_one_epoch()
    {
        ProfileOneStep(lockstep: false, () =>
        {
            AssertConsistent(StepRegion.Epoch, 1, 2);
            AssertConsistent(StepRegion.Stage, 0, 2);
            AssertConsistent(StepRegion.Product, 0, 2);
            AssertConsistent(StepRegion.WeightGradients, 1, 2);
            AssertConsistent(StepRegion.Reduction, 1, 2);
            AssertConsistent(StepRegion.Optimizer, 1, 2);
        });
    }

    [Fact]
    public void Nothing_is_counted_while_profiling_is_off()
    {
        StepProfile.Reset();
        TrainerOptions options = Options(4, 8, 1, Model);
        using var cp = new ControlProcess(new ControlProcessOptions { WorkerCount = 2, HierarchyDepth = 1, SpinRounds = 50 });
        using var trainer = new Trainer(options, cp, fuseWeightGradients: true, lockstep: true);
        int n = options.BatchSize * options.SeqLen, V = options.Model.VocabSize;
        trainer.Step(Tokens(n, V, 1), Tokens(n, V, 2));
        foreach (StepRegion region in Enum.GetValues<StepRegion>()) Assert.Equal(0, StepProfile.Region(region).Calls);
    }
}
