using Crystalline.Cli;
using Xunit;

namespace Crystalline.Hpc.Tests.Cli;

/// <summary>
/// Every test class that runs <see cref="Program.Main"/> with the console captured belongs to this
/// collection: Console.SetOut is process-wide, so two such tests running at once would read each
/// other's output. The collection runs alone.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ConsoleCollection
{
    public const string Name = "Console";
}

/// <summary>Runs the CLI in-process with standard output and error captured.</summary>
internal static class CliRunner
{
    /// <summary>Exit code, standard output and standard error of <c>crystalline args…</c>.</summary>
    public static (int Code, string Out, string Err) RunSeparate(params string[] args)
    {
        TextWriter oldOut = Console.Out, oldErr = Console.Error;
        using var o = new StringWriter();
        using var e = new StringWriter();
        Console.SetOut(o);
        Console.SetError(e);
        try
        {
            int code = Program.Main(args);
            return (code, o.ToString(), e.ToString());
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
        }
    }

    /// <summary>Exit code and standard output and error interleaved as a user would see them.</summary>
    public static (int Code, string Output) Run(params string[] args)
    {
        TextWriter oldOut = Console.Out, oldErr = Console.Error;
        using var both = new StringWriter();
        Console.SetOut(both);
        Console.SetError(both);
        try
        {
            int code = Program.Main(args);
            return (code, both.ToString());
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
        }
    }
}
