using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Crystalline.Hpc.Model;

/// <summary>
/// llm.c's GPT-2 checkpoint: a header of 256 little-endian int32 (magic 20240326, version 3, maxT, V,
/// L, NH, C, Vp; the rest zero), then every parameter as float32 in llm.c's order.
/// </summary>
public static class GptCheckpoint
{
    /// <summary>Header magic.</summary>
    public const int Magic = 20240326;
    /// <summary>Header version (3: padded vocabulary).</summary>
    public const int Version = 3;
    /// <summary>Header length in int32.</summary>
    public const int HeaderInts = 256;

    /// <summary>Reads only the header of a checkpoint and returns its model shape.</summary>
    /// <exception cref="InvalidDataException">truncated header, wrong magic or version, or an invalid shape.</exception>
    public static GptConfig ReadConfig(string path)
    {
        using var fs = File.OpenRead(path);
        return ReadHeader(fs, path);
    }

    /// <summary>Reads a checkpoint. The file length must be exactly header + parameters.</summary>
    /// <exception cref="InvalidDataException">truncated or oversized file, wrong magic or version, or an invalid shape.</exception>
    /// <exception cref="FileNotFoundException">no such file.</exception>
    public static GptParameters Read(string path)
    {
        using var fs = File.OpenRead(path);
        GptConfig cfg = ReadHeader(fs, path);
        long expected = HeaderInts * 4L + ParameterLayout.CountParameters(cfg) * 4L;
        if (fs.Length != expected)
            throw new InvalidDataException($"{path}: checkpoint is {fs.Length} bytes, a {cfg.Describe()} checkpoint has {expected}" + (fs.Length < expected ? " (truncated)" : ""));
        var p = new GptParameters(cfg);
        try
        {
            fs.ReadExactly(MemoryMarshal.AsBytes(p.All));
            if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("big-endian hosts are not supported");
        }
        catch
        {
            p.Dispose();
            throw;
        }
        return p;
    }

    /// <summary>Writes <paramref name="parameters"/> atomically (temporary file, flush, rename).</summary>
    public static void Write(string path, GptParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var c = parameters.Config;
        AtomicFile.Write(path, s =>
        {
            WriteHeader(s, [Magic, Version, c.MaxSeqLen, c.VocabSize, c.NumLayers, c.NumHeads, c.Channels, c.PaddedVocabSize]);
            s.Write(MemoryMarshal.AsBytes((ReadOnlySpan<float>)parameters.All));
        });
    }

    internal static void WriteHeader(Stream s, ReadOnlySpan<int> values)
    {
        Span<byte> h = stackalloc byte[HeaderInts * 4];
        h.Clear();
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt32LittleEndian(h[(i * 4)..], values[i]);
        s.Write(h);
    }

    internal static int[] ReadHeaderInts(Stream s, string path, string what)
    {
        var h = new byte[HeaderInts * 4];
        int got = s.ReadAtLeast(h, h.Length, throwOnEndOfStream: false);
        if (got < h.Length) throw new InvalidDataException($"{path}: truncated {what} header ({got} of {h.Length} bytes)");
        var ints = new int[HeaderInts];
        for (int i = 0; i < HeaderInts; i++) ints[i] = BinaryPrimitives.ReadInt32LittleEndian(h.AsSpan(i * 4));
        return ints;
    }

    private static GptConfig ReadHeader(Stream s, string path)
    {
        int[] h = ReadHeaderInts(s, path, "checkpoint");
        if (h[0] != Magic) throw new InvalidDataException($"{path}: not an llm.c GPT-2 checkpoint (magic {h[0]}, expected {Magic})");
        if (h[1] != Version) throw new InvalidDataException($"{path}: checkpoint version {h[1]} is not supported (expected {Version})");
        var cfg = new GptConfig(h[2], h[3], h[7], h[4], h[5], h[6]);
        try { cfg.Validate(); }
        catch (ArgumentException e) { throw new InvalidDataException($"{path}: invalid model shape in header: {e.Message}", e); }
        return cfg;
    }
}
