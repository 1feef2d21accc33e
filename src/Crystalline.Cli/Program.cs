using Crystalline.Cli.Commands;

namespace Crystalline.Cli;

/// <summary>Entry point of the <c>crystalline</c> command-line tool.</summary>
public static class Program
{
    /// <summary>Exit code for bad options or bad input files.</summary>
    public const int UsageError = 2;

    // One line per command: name, one-line summary, handler. Handlers return the exit code.
    private static readonly (string Name, string Summary, Func<string[], int> Run)[] Commands =
    [
        ("topology", "show CPUs, cores, NUMA nodes, caches, back end and the thread allocation", TopologyCommand.Run),
        ("lattice", "lattice constants, Babylonian clock positions and the angular position θ", LatticeCommand.Run),
        ("primes", "hierarchical abacus: count|nth|next|twins <n> [--threads N]", PrimesCommand.Run),
        ("train", "train the CLLM (GPT-2) on the sphere hierarchy; no options: the built-in corpus", TrainCommand.Run),
        ("tokenize", "UTF-8 text -> llm.c token shards (byte-level or GPT-2 BPE)", TokenizeCommand.Run),
        ("scheduler", "run synthetic epochs on the sphere scheduler; print placement, time per epoch, statistics", SchedulerCommand.Run),
        ("bench", "quick side-by-side measurements: gemm|scheduler|primes|train|all [--threads T]", BenchCommand.Run),
    ];

    /// <summary>Runs the CLI with <paramref name="args"/> and returns the process exit code.</summary>
    public static int Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            PrintHelp();
            return args.Length == 0 ? UsageError : 0;
        }
        foreach (var c in Commands)
        {
            if (c.Name != args[0]) continue;
            try
            {
                return c.Run(args[1..]);
            }
            catch (CliUsageException e)
            {
                Console.Error.WriteLine($"crystalline {c.Name}: {e.Message}");
                return UsageError;
            }
        }
        Console.Error.WriteLine($"crystalline: unknown command '{args[0]}'");
        PrintHelp();
        return UsageError;
    }

    private static void PrintHelp()
    {
        Console.WriteLine("crystalline — the crystalline lattice training engine");
        Console.WriteLine();
        Console.WriteLine("usage: crystalline <command> [options]");
        foreach (var c in Commands) Console.WriteLine($"  {c.Name,-10} {c.Summary}");
    }
}
