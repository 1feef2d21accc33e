using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Crystalline.Hpc.Primes;
using Crystalline.Hpc.Scheduling;

namespace Crystalline.Hpc.Benchmarks.Primes;

/// <summary>
/// <c>dotnet run -c Release --project bench/Crystalline.Hpc.Benchmarks -- primes [--reps N] [--max N]</c>:
/// times the abacus's π(n) against Debian's <c>primesieve</c> CLI side by side in one run (1e9 and 1e10,
/// 1 and 2 threads, repetitions interleaved so both see the same machine load), reports min/median and
/// the ratio of the minima, and checks π(1e10), the twins below 1e9 and the 10^8-th prime.
/// </summary>
internal static unsafe partial class PrimesVsPrimesieve
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static int Run(string[] args)
    {
        int reps = 5;
        bool high = true;
        long max = 10_000_000_000L;
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--reps" && i + 1 < args.Length) reps = int.Parse(args[++i], Inv);
            else if (args[i] == "--max" && i + 1 < args.Length) max = (long)double.Parse(args[++i], Inv);
            else if (args[i] == "--no-high") high = false;
            else { Console.Error.WriteLine($"unknown argument {args[i]}"); return 2; }
        }
        string? primesieve = FindPrimesieve();
        Console.WriteLine($"primesieve: {(primesieve is null ? "not found (apt-get install primesieve)" : Version(primesieve))}");
        Console.WriteLine($"machine: {Environment.ProcessorCount} logical CPUs; load average {LoadAverage()}");
        Console.WriteLine();

        var sizes = new List<long> { 1_000_000_000L, 10_000_000_000L }.Where(n => n <= max).ToList();
        int[] threadCounts = [1, 2];
        var ours = new Dictionary<(long, int), List<double>>();
        var theirs = new Dictionary<(long, int), List<double>>();
        var oursCpu = new Dictionary<(long, int), List<double>>();
        var theirsCpu = new Dictionary<(long, int), List<double>>();
        var executors = threadCounts.ToDictionary(t => t, t => new ControlProcess(t));
        var abaci = threadCounts.ToDictionary(t => t, t => new HierarchicalAbacus(executors[t]));
        bool ok = true;
        try
        {
            foreach (var a in abaci.Values) a.PrimePi(100_000_000); // JIT warm-up
            for (int rep = 0; rep < reps; rep++)
            {
                foreach (long n in sizes)
                {
                    foreach (int t in threadCounts)
                    {
                        // Alternate who goes first so drifting load does not favour either side.
                        bool oursFirst = (rep & 1) == 0;
                        if (oursFirst) ok &= TimeOurs(abaci[t], n, t, ours, oursCpu);
                        if (primesieve is not null) ok &= TimeTheirs(primesieve, n, t, theirs, theirsCpu);
                        if (!oursFirst) ok &= TimeOurs(abaci[t], n, t, ours, oursCpu);
                    }
                }
            }

            Console.WriteLine("Wall time (primesieve: its own --time figure) and CPU time (user+system of all threads; robust when the machine is shared).");
            Console.WriteLine();
            Console.WriteLine("| n | threads | abacus wall min (s) | primesieve wall min (s) | wall ratio | abacus CPU min (s) | primesieve CPU min (s) | CPU ratio | abacus wall median (s) | primesieve wall median (s) |");
            Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|");
            foreach (long n in sizes)
            {
                foreach (int t in threadCounts)
                {
                    var o = ours[(n, t)];
                    var oc = oursCpu[(n, t)];
                    if (theirs.TryGetValue((n, t), out var p))
                    {
                        var pc = theirsCpu[(n, t)];
                        Console.WriteLine(string.Create(Inv,
                            $"| {n:0.#e0} | {t} | {o.Min():F3} | {p.Min():F3} | {o.Min() / p.Min():F2} | {oc.Min():F3} | {pc.Min():F3} | {oc.Min() / pc.Min():F2} | {Median(o):F3} | {Median(p):F3} |"));
                    }
                    else
                    {
                        Console.WriteLine(string.Create(Inv, $"| {n:0.#e0} | {t} | {o.Min():F3} | n/a | n/a | {oc.Min():F3} | n/a | n/a | {Median(o):F3} | n/a |"));
                    }
                }
            }
            Console.WriteLine();

            // Correctness checks named in the issue.
            var two = abaci[threadCounts[^1]];
            ok &= Check("pi(1e10)", 455_052_511, max >= 10_000_000_000L ? two.PrimePi(10_000_000_000L) : 455_052_511, max >= 10_000_000_000L);
            var sw = Stopwatch.StartNew();
            long twins = two.CountTwins(0, 1_000_000_001);
            double tTw = sw.Elapsed.TotalSeconds;
            ok &= Check("twin pairs below 1e9", 3_424_506, twins, true);
            if (primesieve is not null)
            {
                var (s, c) = RunPrimesieve(primesieve, $"1e9 -c2 -t{threadCounts[^1]} -q --time");
                Console.WriteLine(string.Create(Inv, $"  twins below 1e9: abacus {tTw:F3} s, primesieve -c2 {s:F3} s (count {c}), ratio {tTw / s:F2}"));
            }
            sw.Restart();
            long nth = two.NthPrime(100_000_000);
            double tNth = sw.Elapsed.TotalSeconds;
            ok &= Check("10^8-th prime", 2_038_074_743, nth, true);
            if (primesieve is not null)
            {
                var (s, c) = RunPrimesieve(primesieve, $"1e8 -n -t{threadCounts[^1]} -q --time");
                Console.WriteLine(string.Create(Inv, $"  10^8-th prime: abacus {tNth:F3} s, primesieve -n {s:F3} s ({c}), ratio {tNth / s:F2}"));
            }
            if (high && primesieve is not null) ok &= HighWindows(abaci[1], primesieve, reps);
        }
        finally
        {
            foreach (var a in abaci.Values) a.Dispose();
            foreach (var e in executors.Values) e.Dispose();
        }
        Console.WriteLine(ok ? "all checks passed" : "CHECK FAILED");
        return ok ? 0 : 1;
    }

    private static bool TimeOurs(HierarchicalAbacus abacus, long n, int threads, Dictionary<(long, int), List<double>> times,
        Dictionary<(long, int), List<double>> cpu)
    {
        var self = Process.GetCurrentProcess();
        var cpu0 = self.TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        long c = abacus.PrimePi(n);
        double s = sw.Elapsed.TotalSeconds;
        self.Refresh();
        Add(times, (n, threads), s);
        Add(cpu, (n, threads), (self.TotalProcessorTime - cpu0).TotalSeconds);
        return c == Expected(n);
    }

    private static bool TimeTheirs(string exe, long n, int threads, Dictionary<(long, int), List<double>> times,
        Dictionary<(long, int), List<double>> cpu)
    {
        var (s, c, cpuSeconds) = RunPrimesieveWithCpu(exe, string.Create(Inv, $"{n} -t{threads} -q --time"));
        Add(times, (n, threads), s);
        Add(cpu, (n, threads), cpuSeconds);
        return c == Expected(n);
    }

    /// <summary>Single-thread CPU time on 10^9-wide windows high up, where the bucket sieve carries the large primes.</summary>
    private static bool HighWindows(HierarchicalAbacus one, string exe, int reps)
    {
        Console.WriteLine();
        Console.WriteLine("| window | count | abacus CPU min (s) | primesieve CPU min (s) | CPU ratio |");
        Console.WriteLine("|---|---|---|---|---|");
        bool ok = true;
        foreach (long start in new[] { 1_000_000_000_000L, 100_000_000_000_000L, 10_000_000_000_000_000L })
        {
            double oursMin = double.MaxValue, theirsMin = double.MaxValue;
            long ours = -1, theirs = -1;
            for (int r = 0; r < Math.Max(1, reps / 2); r++)
            {
                var self = Process.GetCurrentProcess();
                var cpu0 = self.TotalProcessorTime;
                ours = one.Count(start, start + 1_000_000_000L);
                self.Refresh();
                oursMin = Math.Min(oursMin, (self.TotalProcessorTime - cpu0).TotalSeconds);
                var (_, c, cpu) = RunPrimesieveWithCpu(exe, string.Create(Inv, $"{start} -d1e9 -t1 -q --time"));
                theirs = c;
                theirsMin = Math.Min(theirsMin, cpu);
            }
            // primesieve's interval is [start, start + 1e9] inclusive; start + 1e9 is even here.
            ok &= ours == theirs;
            Console.WriteLine(string.Create(Inv,
                $"| [{start:0e0}, +1e9) | {ours}{(ours == theirs ? "" : $" (primesieve {theirs})")} | {oursMin:F3} | {theirsMin:F3} | {oursMin / theirsMin:F2} |"));
        }
        return ok;
    }

    private static long Expected(long n) => n switch
    {
        1_000_000_000L => 50_847_534,
        10_000_000_000L => 455_052_511,
        _ => throw new ArgumentOutOfRangeException(nameof(n)),
    };

    private static void Add(Dictionary<(long, int), List<double>> d, (long, int) key, double s)
    {
        if (!d.TryGetValue(key, out var list)) d[key] = list = new List<double>();
        list.Add(s);
    }

    private static double Median(List<double> v)
    {
        var s = v.Order().ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
    }

    private static bool Check(string what, long expected, long got, bool ran)
    {
        if (!ran) { Console.WriteLine($"  {what}: skipped (--max too small)"); return true; }
        bool good = expected == got;
        Console.WriteLine(string.Create(Inv, $"  {what}: {got} (expected {expected}) {(good ? "ok" : "WRONG")}"));
        return good;
    }

    private static (double Seconds, long Count) RunPrimesieve(string exe, string arguments)
    {
        var (s, c, _) = RunPrimesieveWithCpu(exe, arguments);
        return (s, c);
    }

    /// <summary>Runs primesieve with -q --time; returns its own reported seconds (no process start-up), the count it printed, and its CPU time.</summary>
    private static (double Seconds, long Count, double CpuSeconds) RunPrimesieveWithCpu(string exe, string arguments)
    {
        var psi = new ProcessStartInfo(exe, arguments) { RedirectStandardOutput = true, UseShellExecute = false };
        double children0 = ChildrenCpuSeconds();
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        // An exited process's times are gone on Linux; the reaped children's total (getrusage) has them.
        double cpuSeconds = ChildrenCpuSeconds() - children0;
        double seconds = double.NaN;
        long count = -1;
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (line.StartsWith("Seconds:", StringComparison.Ordinal)) seconds = double.Parse(line["Seconds:".Length..], Inv);
            else if (long.TryParse(line, NumberStyles.Integer, Inv, out long v)) count = v;
        }
        return (seconds, count, cpuSeconds);
    }

    [LibraryImport("libc", EntryPoint = "getrusage")]
    private static partial int GetRUsage(int who, long* usage);

    private static double ChildrenCpuSeconds()
    {
        if (!OperatingSystem.IsLinux()) return double.NaN;
        long* u = stackalloc long[32]; // struct rusage: utime {sec, usec}, stime {sec, usec}, 14 longs
        if (GetRUsage(-1 /* RUSAGE_CHILDREN */, u) != 0) return double.NaN;
        return u[0] + u[1] * 1e-6 + u[2] + u[3] * 1e-6;
    }

    private static string? FindPrimesieve()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':'))
        {
            string f = Path.Combine(dir, "primesieve");
            if (File.Exists(f)) return f;
        }
        return null;
    }

    private static string Version(string exe)
    {
        var psi = new ProcessStartInfo(exe, "--version") { RedirectStandardOutput = true, UseShellExecute = false };
        using var p = Process.Start(psi)!;
        string first = p.StandardOutput.ReadLine() ?? "?";
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return first;
    }

    private static string LoadAverage()
    {
        try { return File.ReadAllText("/proc/loadavg").Trim(); }
        catch (IOException) { return "unknown"; }
    }
}
