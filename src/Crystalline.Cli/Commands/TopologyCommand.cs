using Crystalline.Hpc.Scheduling;

namespace Crystalline.Cli.Commands;

internal static class TopologyCommand
{
    public static int Run(string[] args)
    {
        var a = new CliArgs(args, [], ["--threads"]);
        if (a.Positional.Count > 0) throw new CliUsageException($"unexpected argument '{a.Positional[0]}'");
        int threads = a.GetInt("--threads", Environment.ProcessorCount, 1, 4096);
        Console.Write(new ThreadAllocation(threads).Describe());
        return 0;
    }
}
