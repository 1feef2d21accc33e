using BenchmarkDotNet.Running;

namespace Crystalline.Hpc.Benchmarks;

/// <summary>BenchmarkDotNet entry: <c>dotnet run -c Release --project bench/Crystalline.Hpc.Benchmarks -- --filter '*'</c>.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "scheduler") return Scheduling.SchedulerHarness.Run(args[1..]);
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
