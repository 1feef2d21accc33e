using BenchmarkDotNet.Running;

namespace Crystalline.Hpc.Benchmarks;

/// <summary>BenchmarkDotNet entry: <c>dotnet run -c Release --project bench/Crystalline.Hpc.Benchmarks -- --filter '*'</c>.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "primes") return Primes.PrimesVsPrimesieve.Run(args[1..]);
        if (args.Length > 0 && args[0] == "gemm") return Kernels.GemmHarness.Run(args[1..]);
        if (args.Length > 0 && args[0] == "gemm-kernel") return Kernels.KernelProbe.Run();
        if (args.Length > 0 && args[0] == "pack-probe") return Kernels.PackProbe.Run(args[1..]);
        if (args.Length > 0 && args[0] == "lockstep-probe") return Kernels.LockstepProbe.Run(args[1..]);
        if (args.Length > 0 && args[0] == "gemm-parts") return Kernels.PartsProbe.Run(args[1..]);
        if (args.Length > 0 && args[0] == "train-step") return Training.TrainStepBench.Run(args[1..]);
        if (args.Length > 0 && args[0] == "scheduler") return Scheduling.SchedulerHarness.Run(args[1..]);
        if (args.Length > 0 && args[0] == "epoch-probe") return Scheduling.SchedulerHarness.Probe(args[1..]);
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
