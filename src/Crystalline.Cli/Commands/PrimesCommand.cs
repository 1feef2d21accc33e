using System.Diagnostics;
using System.Globalization;
using Crystalline.Hpc.Primes;
using Crystalline.Hpc.Scheduling;

namespace Crystalline.Cli.Commands;

/// <summary>
/// <c>crystalline primes count|nth|next|twins &lt;n&gt; [--threads N]</c> (and <c>count &lt;lo&gt; &lt;hi&gt;</c>):
/// runs the hierarchical abacus and prints the result, the time, primes per residue class mod 12,
/// the per-sphere work and the 144000 boundary markers.
/// </summary>
internal static class PrimesCommand
{
    private const string Usage = "usage: crystalline primes count <n> | count <lo> <hi> | nth <n> | next <n> | twins <n> [--threads N] [--block-kib K]";

    public static int Run(string[] args)
    {
        var a = new CliArgs(args, [], ["--threads", "--block-kib"]);
        if (a.Positional.Count < 2) throw new CliUsageException(Usage);
        string verb = a.Positional[0];
        int threads = a.GetInt("--threads", Environment.ProcessorCount, 1, 4096);
        int blockKib = a.GetInt("--block-kib", 0, 0, 8192);
        long n = ParseNonNegative(a.Positional[1], "n");
        long hi = -1;
        if (a.Positional.Count == 3 && verb == "count") hi = ParseNonNegative(a.Positional[2], "hi");
        else if (a.Positional.Count > 2) throw new CliUsageException($"unexpected argument '{a.Positional[2]}'\n{Usage}");
        if (hi >= 0 && hi < n) throw new CliUsageException($"hi ({hi}) must not be below lo ({n})");

        using var executor = new ControlProcess(threads);
        using var abacus = new HierarchicalAbacus(executor, blockKib * 1024);
        var inv = CultureInfo.InvariantCulture;
        var sw = Stopwatch.StartNew();
        switch (verb)
        {
            case "count":
            {
                var r = hi >= 0 ? abacus.Analyze(n, hi) : n == long.MaxValue ? null : abacus.Analyze(0, n + 1);
                if (r is null) throw new CliUsageException("n must be below 2^63 - 1");
                string what = hi >= 0 ? $"primes in [{n}, {hi})" : $"pi({n})";
                Console.WriteLine(string.Create(inv, $"{what} = {r.PrimeCount}"));
                PrintTime(sw);
                PrintReport(r);
                break;
            }
            case "twins":
            {
                if (n == long.MaxValue) throw new CliUsageException("n must be below 2^63 - 1");
                var r = abacus.Analyze(0, n + 1, includeTwins: true);
                Console.WriteLine(string.Create(inv, $"twin prime pairs (p, p+2) with p+2 <= {n} = {r.TwinCount}"));
                Console.WriteLine(string.Create(inv, $"primes <= {n} = {r.PrimeCount}"));
                PrintTime(sw);
                PrintReport(r);
                break;
            }
            case "nth":
            {
                if (n < 1) throw new CliUsageException("nth needs n >= 1");
                long p = Guard(() => abacus.NthPrime(n));
                Console.WriteLine(string.Create(inv, $"prime #{n} = {p}"));
                PrintTime(sw);
                if (abacus.LastReport is { } r)
                {
                    Console.WriteLine(string.Create(inv, $"(counted pi below the start point {r.High} in parallel: {r.PrimeCount}; then sieved forward)"));
                    PrintReport(r);
                }
                break;
            }
            case "next":
            {
                long p = Guard(() => abacus.NextPrime(n));
                Console.WriteLine(string.Create(inv, $"next prime after {n} = {p}"));
                PrintTime(sw);
                Console.WriteLine("(a short sequential sieve window, or Miller-Rabin above 2^42: no sphere work)");
                break;
            }
            default:
                throw new CliUsageException($"unknown primes verb '{verb}'\n{Usage}");
        }
        return 0;
    }

    private static long Guard(Func<long> f)
    {
        try
        {
            return f();
        }
        catch (ArgumentException e)
        {
            throw new CliUsageException(e.Message);
        }
    }

    private static long ParseNonNegative(string text, string what)
    {
        long v = CliArgs.ParseInteger(text, what);
        if (v < 0) throw new CliUsageException($"{what} must not be negative, got '{text}'");
        return v;
    }

    private static void PrintTime(Stopwatch sw) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"time: {sw.Elapsed.TotalSeconds:F3} s"));

    private static void PrintReport(AbacusReport r)
    {
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(inv,
            $"threads: {r.WorkerCount}, segments: {r.SegmentCount} x {r.SegmentBytes} B (x30 numbers), block {r.BlockBytes / 1024} KiB, sieve {r.Elapsed.TotalSeconds:F3} s"));
        Console.WriteLine("primes per residue class mod 12:");
        for (int c = 0; c < 12; c++)
        {
            if (r.ResidueCounts[c] == 0 && c is not (1 or 5 or 7 or 11)) continue;
            Console.WriteLine(string.Create(inv, $"  {c,2}: {r.ResidueCounts[c],15}"));
        }
        Console.WriteLine("per-sphere work (segment s -> sphere s mod 12):");
        Console.WriteLine("  sphere  segments           primes   time (s)  last worker");
        foreach (var s in r.Spheres)
            Console.WriteLine(string.Create(inv, $"  {s.Sphere,6}  {s.Segments,8}  {s.Primes,15}  {s.SieveTime.TotalSeconds,9:F3}  {s.LastWorker,11}"));
        if (r.BoundaryMarkers.Count == 0)
        {
            Console.WriteLine("boundary markers 143999/144001: outside the range");
            return;
        }
        foreach (var m in r.BoundaryMarkers)
            Console.WriteLine(string.Create(inv,
                $"boundary marker {m.Value}: {(m.IsPrime ? "prime" : "not prime")}, held by sphere {m.Sphere} (segment {m.Segment})"));
    }
}
