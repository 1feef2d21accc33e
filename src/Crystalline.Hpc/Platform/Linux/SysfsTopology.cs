using System.Globalization;

namespace Crystalline.Hpc.Platform.Linux;

/// <summary>
/// Reads the CPU topology from Linux sysfs (/sys/devices/system/cpu and /sys/devices/system/node).
/// The root can be redirected to a fabricated tree so tests can describe machines this one is not
/// (two sockets, SMT, several NUMA nodes).
/// </summary>
internal static class SysfsTopology
{
    public const string DefaultRoot = "/sys/devices/system";

    /// <summary>
    /// Reads the topology under <paramref name="root"/>. Core ids are made dense and machine-wide
    /// (sysfs core_id is only unique within a package), numbered in order of each core's first CPU.
    /// </summary>
    /// <exception cref="IOException">The CPU list cannot be read or parsed.</exception>
    public static CpuTopology Read(string root, List<string>? notes = null)
    {
        string cpuDir = Path.Combine(root, "cpu");
        string? online = TryReadText(Path.Combine(cpuDir, "online"));
        int[] cpuIds;
        if (online is not null)
        {
            cpuIds = ParseCpuList(online);
        }
        else
        {
            // Some containers hide the "online" file; the cpuN directories still tell.
            cpuIds = Directory.Exists(cpuDir)
                ? Directory.GetDirectories(cpuDir, "cpu*")
                    .Select(d => Path.GetFileName(d)[3..])
                    .Where(s => s.Length > 0 && s.All(char.IsAsciiDigit))
                    .Select(s => int.Parse(s, CultureInfo.InvariantCulture))
                    .Order()
                    .ToArray()
                : [];
            notes?.Add($"{cpuDir}/online is missing; CPUs taken from the cpuN directories");
        }
        if (cpuIds.Length == 0) throw new IOException($"no CPUs found under {cpuDir}");

        var nodeOfCpu = new Dictionary<int, int>();
        int nodeCount = 0;
        string nodeDir = Path.Combine(root, "node");
        string? nodesOnline = TryReadText(Path.Combine(nodeDir, "online"));
        if (nodesOnline is not null)
        {
            foreach (int node in ParseCpuList(nodesOnline))
            {
                nodeCount++;
                string? list = TryReadText(Path.Combine(nodeDir, $"node{node}", "cpulist"));
                if (string.IsNullOrEmpty(list)) continue; // memory-only node (CXL, HBM): no CPUs
                foreach (int cpu in ParseCpuList(list)) nodeOfCpu[cpu] = node;
            }
        }
        else
        {
            notes?.Add($"{nodeDir}/online is missing; assuming one NUMA node");
        }
        nodeCount = Math.Max(1, nodeCount);

        var cpus = new LogicalCpu[cpuIds.Length];
        var coreIndex = new Dictionary<(int Package, int Core), int>();
        var sockets = new HashSet<int>();
        for (int i = 0; i < cpuIds.Length; i++)
        {
            int id = cpuIds[i];
            string topo = Path.Combine(cpuDir, $"cpu{id}", "topology");
            int package = Math.Max(0, TryReadInt(Path.Combine(topo, "physical_package_id")) ?? 0);
            // Without core_id each CPU is its own core (true for most VMs that hide topology).
            int core = TryReadInt(Path.Combine(topo, "core_id")) ?? id;
            if (!coreIndex.TryGetValue((package, core), out int dense))
            {
                dense = coreIndex.Count;
                coreIndex.Add((package, core), dense);
            }
            sockets.Add(package);
            cpus[i] = new LogicalCpu(id, dense, package, nodeOfCpu.GetValueOrDefault(id, 0));
        }

        var (l1, l2, l3) = ReadCaches(Path.Combine(cpuDir, $"cpu{cpuIds[0]}", "cache"));
        if (l1 == 0 && l2 == 0 && l3 == 0) notes?.Add("cache sizes are not in sysfs (reported as 0: unknown)");
        return new CpuTopology(cpus.Length, coreIndex.Count, sockets.Count, nodeCount, l1, l2, l3, cpus);
    }

    /// <summary>L1 data, L2 and L3 sizes of one CPU from its cache/index*/ entries (0 when absent).</summary>
    internal static (long L1Data, long L2, long L3) ReadCaches(string cacheDir)
    {
        long l1 = 0, l2 = 0, l3 = 0;
        if (!Directory.Exists(cacheDir)) return (0, 0, 0);
        foreach (string index in Directory.GetDirectories(cacheDir, "index*").Order(StringComparer.Ordinal))
        {
            int? level = TryReadInt(Path.Combine(index, "level"));
            string? type = TryReadText(Path.Combine(index, "type"));
            string? size = TryReadText(Path.Combine(index, "size"));
            if (level is null || type is null || size is null || type == "Instruction") continue;
            long bytes = ParseSize(size);
            switch (level)
            {
                case 1 when l1 == 0: l1 = bytes; break;
                case 2 when l2 == 0: l2 = bytes; break;
                case 3 when l3 == 0: l3 = bytes; break;
            }
        }
        return (l1, l2, l3);
    }

    /// <summary>Parses a sysfs size such as "32K", "1024K", "32M" or "512" into bytes.</summary>
    /// <exception cref="FormatException">Not a size.</exception>
    internal static long ParseSize(string text)
    {
        text = text.Trim();
        long multiplier = 1;
        if (text.Length > 0)
        {
            switch (char.ToUpperInvariant(text[^1]))
            {
                case 'K': multiplier = 1024; text = text[..^1]; break;
                case 'M': multiplier = 1024 * 1024; text = text[..^1]; break;
                case 'G': multiplier = 1024L * 1024 * 1024; text = text[..^1]; break;
            }
        }
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long v))
            throw new FormatException($"'{text}' is not a cache size");
        return checked(v * multiplier);
    }

    /// <summary>Parses a Linux CPU list ("0-3,8,10-11"; empty → none) into ascending ids.</summary>
    /// <exception cref="FormatException">Malformed list.</exception>
    internal static int[] ParseCpuList(string text)
    {
        text = text.Trim();
        var result = new List<int>();
        if (text.Length == 0) return [];
        foreach (string part in text.Split(','))
        {
            int dash = part.IndexOf('-', StringComparison.Ordinal);
            if (dash < 0)
            {
                result.Add(ParseId(part, text));
                continue;
            }
            int a = ParseId(part[..dash], text), b = ParseId(part[(dash + 1)..], text);
            if (b < a) throw new FormatException($"bad CPU range '{part}' in '{text}'");
            for (int v = a; v <= b; v++) result.Add(v);
        }
        result.Sort();
        return result.Distinct().ToArray();
    }

    private static int ParseId(string s, string whole) =>
        int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int v) ? v : throw new FormatException($"bad CPU list '{whole}'");

    private static string? TryReadText(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadAllText(path).Trim() : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static int? TryReadInt(string path) =>
        int.TryParse(TryReadText(path), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int v) ? v : null;
}
