using System.Globalization;

namespace Crystalline.Cli;

/// <summary>Raised for a bad command line; the CLI prints the message and exits with code 2.</summary>
internal sealed class CliUsageException(string message) : Exception(message);

/// <summary>
/// A small GNU-style parser: positional words, <c>--name value</c>, <c>--name=value</c> and bare
/// <c>--flag</c>. Each command declares the options it knows; unknown or repeated options, missing
/// values and unparsable numbers become <see cref="CliUsageException"/> (exit code 2).
/// </summary>
internal sealed class CliArgs
{
    private readonly Dictionary<string, string?> _options = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    public List<string> Positional { get; } = new();

    /// <param name="args">The words after the command name.</param>
    /// <param name="flags">Options that take no value (e.g. "--verbose").</param>
    /// <param name="valued">Options that take a value (e.g. "--threads").</param>
    public CliArgs(IReadOnlyList<string> args, IEnumerable<string> flags, IEnumerable<string> valued)
    {
        var flagSet = new HashSet<string>(flags, StringComparer.Ordinal);
        var valuedSet = new HashSet<string>(valued, StringComparer.Ordinal);
        for (int i = 0; i < args.Count; i++)
        {
            string a = args[i];
            if (!a.StartsWith("--", StringComparison.Ordinal) || a == "--")
            {
                Positional.Add(a);
                continue;
            }
            string name = a;
            string? value = null;
            int eq = a.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0) { name = a[..eq]; value = a[(eq + 1)..]; }
            if (flagSet.Contains(name))
            {
                // A flag may take an explicit boolean: --flag=false.
                value ??= "true";
            }
            else if (valuedSet.Contains(name))
            {
                if (value is null)
                {
                    if (i + 1 >= args.Count) throw new CliUsageException($"option {name} needs a value");
                    value = args[++i];
                }
            }
            else
            {
                throw new CliUsageException($"unknown option {name}");
            }
            if (!_options.TryAdd(name, value)) throw new CliUsageException($"option {name} given twice");
        }
    }

    public bool Has(string name) => _options.ContainsKey(name);

    public string? GetString(string name) => _options.TryGetValue(name, out var v) ? v : null;

    public string GetString(string name, string fallback) => GetString(name) ?? fallback;

    public bool GetFlag(string name, bool fallback = false)
    {
        string? v = GetString(name);
        if (v is null) return fallback;
        return v.ToLowerInvariant() switch
        {
            "true" or "1" or "yes" or "on" => true,
            "false" or "0" or "no" or "off" => false,
            _ => throw new CliUsageException($"option {name} takes true or false, not '{v}'"),
        };
    }

    public int GetInt(string name, int fallback, int min = int.MinValue, int max = int.MaxValue)
    {
        string? v = GetString(name);
        if (v is null) return fallback;
        long n = ParseInteger(v, name);
        if (n < min || n > max) throw new CliUsageException($"option {name} must be in [{min}, {max}], got {v}");
        return (int)n;
    }

    public long GetLong(string name, long fallback, long min = long.MinValue, long max = long.MaxValue)
    {
        string? v = GetString(name);
        if (v is null) return fallback;
        long n = ParseInteger(v, name);
        if (n < min || n > max) throw new CliUsageException($"option {name} must be in [{min}, {max}], got {v}");
        return n;
    }

    public double GetDouble(string name, double fallback, double min = double.NegativeInfinity, double max = double.PositiveInfinity)
    {
        string? v = GetString(name);
        if (v is null) return fallback;
        if (!double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) || !double.IsFinite(d))
            throw new CliUsageException($"option {name} needs a number, got '{v}'");
        if (d < min || d > max) throw new CliUsageException($"option {name} must be in [{min}, {max}], got {v}");
        return d;
    }

    /// <summary>
    /// Parses an integer, also in scientific form ("1e10", "2.5e3") when the value is a whole number.
    /// Values beyond the range of a 64-bit signed integer are rejected with a clear message.
    /// </summary>
    public static long ParseInteger(string text, string what)
    {
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long n)) return n;
        if (decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out decimal m))
        {
            if (m != decimal.Truncate(m)) throw new CliUsageException($"{what} must be a whole number, got '{text}'");
            if (m > long.MaxValue || m < long.MinValue) throw new CliUsageException($"{what} is beyond the 64-bit range (2^63 - 1): '{text}'");
            return (long)m;
        }
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && !double.IsNaN(d))
            throw new CliUsageException($"{what} is beyond the 64-bit range (2^63 - 1): '{text}'");
        throw new CliUsageException($"{what} needs an integer, got '{text}'");
    }
}
