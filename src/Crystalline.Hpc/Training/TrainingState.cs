using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Crystalline.Hpc.Memory;
using Crystalline.Hpc.Model;

namespace Crystalline.Hpc.Training;

/// <summary>
/// Everything besides the weights that a resumed run needs to continue bitwise: AdamW moments, the
/// step counter, the data position, token counters (global and per sphere, for the 144000-boundary
/// crossings), the RNG state and a hash of the options that fix the arithmetic.
/// </summary>
/// <remarks>
/// File format (little-endian): 256 int32 header (magic 20261127, version 1, parameter count, sphere count,
/// then the schedule of the run that wrote it: total steps as int64 (two int32, low first; 0 = not
/// recorded, as in files from builds before 2026-11-28, whose reserved header words were zero) and
/// warm-up steps; then a uint64 fingerprint of the training tokens (two int32, low first; 0 = not
/// recorded); the rest zero), then int64 step, int64 data position, int64 tokens processed, uint64[4] RNG state, uint64 options hash,
/// int64[sphere count] tokens per sphere, float32 m[parameter count], float32 v[parameter count].
/// </remarks>
internal sealed class TrainingState : IDisposable
{
    public const int Magic = 20261127;
    public const int Version = 1;

    public TrainingState(int parameterCount, int sphereCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(parameterCount);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sphereCount);
        M = new AlignedBuffer<float>(parameterCount);
        V = new AlignedBuffer<float>(parameterCount);
        SphereTokens = new long[sphereCount];
    }

    public long Step { get; set; }
    public long DataPosition { get; set; }
    public long TokensProcessed { get; set; }
    public ulong[] RngState { get; set; } = [1, 2, 3, 4];
    public ulong OptionsHash { get; set; }
    /// <summary>Total steps of the run that wrote the state (its cosine schedule's length); 0 when the file did not record it.</summary>
    public long TotalSteps { get; set; }
    /// <summary>Warm-up steps of the run that wrote the state (meaningful only when <see cref="TotalSteps"/> &gt; 0).</summary>
    public int WarmupSteps { get; set; }
    /// <summary>Fingerprint of the training tokens the run used (<see cref="Fingerprint"/>); 0 when not recorded.</summary>
    public ulong DataFingerprint { get; set; }
    public long[] SphereTokens { get; }
    public AlignedBuffer<float> M { get; }
    public AlignedBuffer<float> V { get; }

    public int ParameterCount => (int)M.Length;

    public void CopyFrom(TrainingState o)
    {
        if (o.ParameterCount != ParameterCount || o.SphereTokens.Length != SphereTokens.Length) throw new ArgumentException("state shapes differ", nameof(o));
        Step = o.Step; DataPosition = o.DataPosition; TokensProcessed = o.TokensProcessed;
        RngState = (ulong[])o.RngState.Clone(); OptionsHash = o.OptionsHash;
        TotalSteps = o.TotalSteps; WarmupSteps = o.WarmupSteps; DataFingerprint = o.DataFingerprint;
        o.SphereTokens.CopyTo(SphereTokens, 0);
        o.M.Span.CopyTo(M.Span); o.V.Span.CopyTo(V.Span);
    }

    public void Write(string path) => AtomicFile.Write(path, s =>
    {
        GptCheckpoint.WriteHeader(s, [Magic, Version, ParameterCount, SphereTokens.Length, (int)(uint)TotalSteps, (int)(TotalSteps >> 32), WarmupSteps, (int)(uint)DataFingerprint, (int)(DataFingerprint >> 32)]);
        var fixedPart = new byte[8 * (3 + 4 + 1 + SphereTokens.Length)];
        int o = 0;
        void Put(ulong x) { BinaryPrimitives.WriteUInt64LittleEndian(fixedPart.AsSpan(o), x); o += 8; }
        Put((ulong)Step); Put((ulong)DataPosition); Put((ulong)TokensProcessed);
        foreach (ulong r in RngState) Put(r);
        Put(OptionsHash);
        foreach (long t in SphereTokens) Put((ulong)t);
        s.Write(fixedPart);
        s.Write(MemoryMarshal.AsBytes((ReadOnlySpan<float>)M.Span));
        s.Write(MemoryMarshal.AsBytes((ReadOnlySpan<float>)V.Span));
    });

    /// <exception cref="InvalidDataException">truncated, wrong magic/version, or a parameter/sphere count other than expected.</exception>
    public static TrainingState Read(string path, int expectedParameters, int expectedSpheres)
    {
        using var fs = File.OpenRead(path);
        int[] h = ReadCheckedHeader(fs, path);
        if (h[2] != expectedParameters) throw new InvalidDataException($"{path}: training state is for {h[2]} parameters, the model has {expectedParameters}");
        if (h[3] != expectedSpheres) throw new InvalidDataException($"{path}: training state is for {h[3]} spheres, this run has {expectedSpheres} (use the same --hierarchy-depth)");
        long expectedLength = GptCheckpoint.HeaderInts * 4L + 8L * (8 + expectedSpheres) + 8L * expectedParameters;
        if (fs.Length != expectedLength)
            throw new InvalidDataException($"{path}: training-state file is {fs.Length} bytes, expected {expectedLength}" + (fs.Length < expectedLength ? " (truncated)" : ""));
        var st = new TrainingState(expectedParameters, expectedSpheres);
        try
        {
            var fixedPart = new byte[8 * (8 + expectedSpheres)];
            fs.ReadExactly(fixedPart);
            int o = 0;
            ulong Get() { ulong x = BinaryPrimitives.ReadUInt64LittleEndian(fixedPart.AsSpan(o)); o += 8; return x; }
            st.Step = (long)Get(); st.DataPosition = (long)Get(); st.TokensProcessed = (long)Get();
            st.RngState = [Get(), Get(), Get(), Get()];
            st.OptionsHash = Get();
            (st.TotalSteps, st.WarmupSteps) = ScheduleOf(h, path);
            st.DataFingerprint = (uint)h[7] | ((ulong)(uint)h[8] << 32);
            for (int i = 0; i < expectedSpheres; i++) st.SphereTokens[i] = (long)Get();
            fs.ReadExactly(MemoryMarshal.AsBytes(st.M.Span));
            fs.ReadExactly(MemoryMarshal.AsBytes(st.V.Span));
            if (st.Step < 0 || st.DataPosition < 0 || st.TokensProcessed < 0) throw new InvalidDataException($"{path}: negative counters in training state");
        }
        catch
        {
            st.Dispose();
            throw;
        }
        return st;
    }

    /// <summary>A 64-bit fingerprint of a token sequence (its length and every token, multiply–xorshift mixed); never 0.</summary>
    public static ulong Fingerprint(ReadOnlySpan<int> tokens)
    {
        ulong h = 0x9E3779B97F4A7C15UL ^ (ulong)tokens.Length;
        foreach (int t in tokens)
        {
            h = (h ^ (uint)t) * 0xBF58476D1CE4E5B9UL;
            h ^= h >> 31;
        }
        return h == 0 ? 1 : h;
    }

    /// <summary>Reads only the header: the schedule (total steps, warm-up) of the run that wrote the file, or null when the file does not record it.</summary>
    /// <exception cref="InvalidDataException">truncated header, wrong magic or version, or a negative schedule.</exception>
    public static (long TotalSteps, int WarmupSteps)? ReadSchedule(string path)
    {
        using var fs = File.OpenRead(path);
        var schedule = ScheduleOf(ReadCheckedHeader(fs, path), path);
        return schedule.TotalSteps > 0 ? schedule : null;
    }

    private static int[] ReadCheckedHeader(FileStream fs, string path)
    {
        int[] h = GptCheckpoint.ReadHeaderInts(fs, path, "training-state");
        if (h[0] != Magic) throw new InvalidDataException($"{path}: not a training-state file (magic {h[0]}, expected {Magic})");
        if (h[1] != Version) throw new InvalidDataException($"{path}: training-state version {h[1]} is not supported (expected {Version})");
        return h;
    }

    private static (long TotalSteps, int WarmupSteps) ScheduleOf(int[] h, string path)
    {
        long total = (long)(uint)h[4] | ((long)h[5] << 32);
        if (total < 0 || h[6] < 0) throw new InvalidDataException($"{path}: negative schedule in training-state header (total {total}, warm-up {h[6]})");
        return (total, h[6]);
    }

    public void Dispose()
    {
        M.Dispose();
        V.Dispose();
    }
}
