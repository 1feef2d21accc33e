using System.Globalization;
using System.Text;
using Crystalline.Hpc.Lattice;
using Crystalline.Hpc.Primes;

namespace Crystalline.Cli.Commands;

/// <summary>
/// <c>crystalline lattice constants | clock --index I | theta --prime P [--k K] [--n N] [--token WORD]</c>.
/// </summary>
internal static class LatticeCommand
{
    private const int Digits = 40;
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static int Run(string[] args)
    {
        if (args.Length == 0) throw new CliUsageException("needs a subcommand: constants, clock --index I, or theta --prime P [--k K] [--n N] [--token WORD]");
        string sub = args[0];
        string[] rest = args[1..];
        return sub switch
        {
            "constants" => Constants(rest),
            "clock" => Clock(rest),
            "theta" => Theta(rest),
            _ => throw new CliUsageException($"unknown subcommand '{sub}' (constants, clock, theta)"),
        };
    }

    private static int Constants(string[] args)
    {
        var a = new CliArgs(args, [], []);
        if (a.Positional.Count > 0) throw new CliUsageException($"unexpected argument '{a.Positional[0]}'");
        Console.Write(DescribeConstants());
        return 0;
    }

    internal static string DescribeConstants()
    {
        var sb = new StringBuilder();
        void Line(string name, string value) => sb.Append(CultureInfo.InvariantCulture, $"  {name,-34} {value}\n");
        void Big(string name, double d, BigFixed b) =>
            sb.Append(CultureInfo.InvariantCulture, $"  {name,-34} double {d.ToString("R", Inv),-24} BigFixed {b.ToString(Digits)}\n");

        sb.Append("Lattice constants (the design's names; BigFixed at 256 fractional bits, 40 digits)\n");
        Line("symmetry groups (kissing spheres)", LatticeConstants.SymmetryGroupCount.ToString(Inv));
        Line("vector culmination", $"{LatticeConstants.VectorCulmination} = 3 · 12³ · (250/9)");
        Line("recursive base", $"{LatticeConstants.RecursiveBase} (growth 3^d)");
        Big("Λ = 3/144000 = 1/48000", LatticeConstants.Lambda, BigConstants.Lambda());
        Big("144000/9", LatticeConstants.VectorCulmination / 9.0, BigConstants.VectorCulminationOverNine());
        Big("π (Machin series)", Math.PI, BigConstants.Pi());
        Big("ln 3 (2·atanh(1/2) series)", LatticeConstants.Ln3, BigConstants.Ln3());
        Big("√5 (integer Newton)", LatticeConstants.Sqrt5, BigConstants.Sqrt5());
        Big("golden ratio (1+√5)/2", LatticeConstants.GoldenRatio, BigConstants.GoldenRatio());
        Big("spiral step π(1+√5)", Math.PI * (1 + LatticeConstants.Sqrt5), BigConstants.SpiralStep());
        Big("index step 2π/(12·ln 3)", Math.Tau / (12 * LatticeConstants.Ln3), BigConstants.IndexStep());
        Line("log₃ ν for λ = 0.343 (ν = 1000)", AngularPosition.PhoneticTerm(AngularPosition.DefaultWavelength).ToString("R", Inv));
        Line("dimensional frequencies φ_0…φ_23", string.Join(", ", LatticeConstants.DimensionalFrequencies.ToArray()) + " (φ_i = φ_{i mod 24})");
        Line("cymatic frequencies (Hz)", string.Join(", ", LatticeConstants.CymaticFrequencies.ToArray()));
        sb.Append("  Plimpton 322 triples (a, b, c)     a² + b² = c² checked:\n");
        foreach (PlimptonTriple t in LatticeConstants.PlimptonTriples)
            sb.Append(CultureInfo.InvariantCulture, $"    ({t.A}, {t.B}, {t.C}) {(t.IsPythagorean ? "yes" : "NO")}\n");

        sb.Append('\n');
        sb.Append("Boundary markers (the design calls them \"twin primes\"; computed here, not assumed):\n");
        long lo = LatticeConstants.TwinPrimeLower, hi = LatticeConstants.TwinPrimeUpper;
        sb.Append(CultureInfo.InvariantCulture, $"  TwinPrimeLower {lo}: {(Primality.IsPrime(lo) ? $"prime (the {Ordinal(PrimeIndex.IndexOf(lo))} prime)" : Factorisation(lo))}\n");
        sb.Append(CultureInfo.InvariantCulture, $"  TwinPrimeUpper {hi}: {(Primality.IsPrime(hi) ? "prime" : Factorisation(hi))}\n");
        bool twin = BoundaryMarkerFacts.IsTwinPrimePair(lo, hi);
        sb.Append(CultureInfo.InvariantCulture, $"  ({lo}, {hi}) is {(twin ? "" : "NOT ")}a twin-prime pair\n");
        var below = BoundaryMarkerFacts.NearestTwinPairBelow(lo);
        var above = BoundaryMarkerFacts.NearestTwinPairAbove(hi);
        sb.Append(CultureInfo.InvariantCulture, $"  nearest twin-prime pairs: ({below.Lower}, {below.Upper}) below, ({above.Lower}, {above.Upper}) above\n");
        sb.Append(CultureInfo.InvariantCulture, $"  next prime after {lo}: {BoundaryMarkerFacts.NextPrimeAfter(lo)}\n");
        sb.Append("  The markers keep their names and roles (boundary partitions, the doubled ω); primality is reported as it is.\n");
        return sb.ToString();
    }

    private static string Factorisation(long n)
    {
        var factors = new List<long>();
        long m = n;
        while (m > 1)
        {
            long f = BoundaryMarkerFacts.SmallestFactor(m);
            factors.Add(f);
            m /= f;
        }
        string all = string.Join(" × ", factors);
        return factors.Count > 2 ? $"composite = {factors[0]} × {n / factors[0]} = {all}" : $"composite = {all}";
    }

    internal static string Ordinal(long k)
    {
        string suffix = (k % 100) is 11 or 12 or 13 ? "th" : (k % 10) switch { 1 => "st", 2 => "nd", 3 => "rd", _ => "th" };
        return k.ToString("N0", Inv) + suffix;
    }

    private static int Clock(string[] args)
    {
        var a = new CliArgs(args, [], ["--index"]);
        if (a.Positional.Count > 0) throw new CliUsageException($"unexpected argument '{a.Positional[0]}'");
        if (!a.Has("--index")) throw new CliUsageException("clock needs --index I (an integer ≥ 0)");
        long index = a.GetLong("--index", 0, 0);
        ClockPosition c = BabylonianClock.FromIndex(index);
        ClockTime time = BabylonianClock.FromAngle(AngularPosition.Reduce(c.Angle));
        Console.WriteLine(string.Create(Inv, $"index {index}: ring {c.Ring}, position {c.Position} of {c.RingSize}, angle {c.Angle:R} rad, radius {c.Radius:0.00}"));
        Console.WriteLine(string.Create(Inv, $"  angle reduced to [0, 2π): {AngularPosition.Reduce(c.Angle):R} → hour {time.Hour}, minute {time.Minute:0.######}"));
        Console.WriteLine(string.Create(Inv, $"  symmetry group: {index} mod 12 = {BabylonianClock.SymmetryGroup(index)}"));
        return 0;
    }

    private static int Theta(string[] args)
    {
        var a = new CliArgs(args, [], ["--prime", "--k", "--n", "--token"]);
        if (a.Positional.Count > 0) throw new CliUsageException($"unexpected argument '{a.Positional[0]}'");
        if (!a.Has("--prime")) throw new CliUsageException("theta needs --prime P");
        long p = a.GetLong("--prime", 0, 0);
        long k;
        string kSource;
        if (a.Has("--k"))
        {
            k = a.GetLong("--k", 0, 0);
            kSource = "given";
        }
        else
        {
            if (!Primality.IsPrime(p)) throw new CliUsageException($"--prime {p} is not prime, so it has no prime index; give --k K to use it anyway");
            if (p > PrimeIndex.MaxPrime)
                throw new CliUsageException($"the prime index is computed here only for P ≤ {PrimeIndex.MaxPrime:N0} (a simple sieve); give --k K for larger primes");
            k = PrimeIndex.IndexOf(p);
            kSource = $"{p} is the {Ordinal(k)} prime";
        }
        int n = a.GetInt("--n", 1);
        string? token = a.GetString("--token");
        double lambda = token is null ? AngularPosition.DefaultWavelength : AngularPosition.Wavelength(token);
        ThetaTerms t = AngularPosition.Compute(p, k, n, lambda);
        ClockTime time = BabylonianClock.FromAngle(t.Theta);
        PlimptonTriple triple = AngularPosition.NearestTriple(p);
        Console.WriteLine(string.Create(Inv, $"θ(p = {p}, k = {k} ({kSource}), n = {n}, λ = {lambda:0.000}{(token is null ? " (no --token)" : $" from '{token}'")})"));
        Console.WriteLine(string.Create(Inv, $"  spiral   k·π(1+√5) mod 2π       {t.Spiral:R}"));
        Console.WriteLine(string.Create(Inv, $"  index    (n−1)·2π/(12 ln 3)     {t.Index:R}"));
        Console.WriteLine(string.Create(Inv, $"  phonetic log₃(343/λ)            {t.Phonetic:R}"));
        Console.WriteLine(string.Create(Inv, $"  ω(p)                            {t.Omega:R}{(p is LatticeConstants.TwinPrimeLower or LatticeConstants.TwinPrimeUpper ? " (doubled at a boundary marker)" : "")}"));
        Console.WriteLine(string.Create(Inv, $"  ψ(p) via ({triple.A}, {triple.B}, {triple.C})  {t.Psi:R}"));
        Console.WriteLine(string.Create(Inv, $"  θ = {t.Theta:R} rad → hour {time.Hour}, minute {time.Minute:0.######}; symmetry group {p} mod 12 = {BabylonianClock.SymmetryGroup(p)}"));
        Console.WriteLine(string.Create(Inv, $"  near 144000 (|p − 144000| ≤ 100): {(Boundary144000.IsNear(p) ? "yes" : "no")}"));
        return 0;
    }
}
