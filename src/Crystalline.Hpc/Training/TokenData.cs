using System.Buffers.Binary;
using System.Text;
using Microsoft.ML.Tokenizers;

namespace Crystalline.Hpc.Training;

/// <summary>
/// llm.c's token shard: a header of 256 little-endian int32 (magic 20240520, version 1, token count),
/// then the tokens as uint16.
/// </summary>
public static class TokenShard
{
    /// <summary>Header magic.</summary>
    public const int Magic = 20240520;
    /// <summary>Header version.</summary>
    public const int Version = 1;

    /// <summary>Writes <paramref name="tokens"/> (each 0 … 65535) atomically.</summary>
    /// <exception cref="ArgumentException">a token does not fit in uint16.</exception>
    public static void Write(string path, ReadOnlySpan<int> tokens)
    {
        var body = new byte[tokens.Length * 2];
        for (int i = 0; i < tokens.Length; i++)
        {
            if ((uint)tokens[i] > ushort.MaxValue) throw new ArgumentException($"token {tokens[i]} at {i} does not fit in a uint16 shard", nameof(tokens));
            BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(i * 2), (ushort)tokens[i]);
        }
        int count = tokens.Length;
        Model.AtomicFile.Write(path, s =>
        {
            Model.GptCheckpoint.WriteHeader(s, [Magic, Version, count]);
            s.Write(body);
        });
    }

    /// <summary>Reads a shard.</summary>
    /// <exception cref="InvalidDataException">truncated, wrong magic or version, or a length that does not match the count.</exception>
    public static int[] Read(string path)
    {
        using var fs = File.OpenRead(path);
        int[] h = Model.GptCheckpoint.ReadHeaderInts(fs, path, "token shard");
        if (h[0] != Magic) throw new InvalidDataException($"{path}: not an llm.c token shard (magic {h[0]}, expected {Magic})");
        if (h[1] != Version) throw new InvalidDataException($"{path}: token shard version {h[1]} is not supported (expected {Version})");
        long count = h[2];
        if (count < 0) throw new InvalidDataException($"{path}: negative token count {count}");
        long expected = Model.GptCheckpoint.HeaderInts * 4L + count * 2;
        if (fs.Length != expected)
            throw new InvalidDataException($"{path}: shard is {fs.Length} bytes, its header promises {count} tokens ({expected} bytes)" + (fs.Length < expected ? " (truncated)" : ""));
        var body = new byte[count * 2];
        fs.ReadExactly(body);
        var tokens = new int[count];
        for (int i = 0; i < count; i++) tokens[i] = BinaryPrimitives.ReadUInt16LittleEndian(body.AsSpan(i * 2));
        return tokens;
    }

    /// <summary>True when the file starts with the shard magic.</summary>
    public static bool LooksLikeShard(string path)
    {
        using var fs = File.OpenRead(path);
        Span<byte> b = stackalloc byte[4];
        return fs.ReadAtLeast(b, 4, throwOnEndOfStream: false) == 4 && BinaryPrimitives.ReadInt32LittleEndian(b) == Magic;
    }
}

/// <summary>Text → token ids.</summary>
public interface ITextTokenizer
{
    /// <summary>Name on the command line ("byte", "gpt2").</summary>
    string Name { get; }
    /// <summary>Vocabulary size V: every id is in [0, V).</summary>
    int VocabSize { get; }
    /// <summary>Encodes text.</summary>
    int[] Encode(string text);
    /// <summary>Decodes ids back to text.</summary>
    string Decode(ReadOnlySpan<int> ids);
}

/// <summary>Byte-level tokenizer: the UTF-8 bytes of the text, V = 256.</summary>
public sealed class ByteTokenizer : ITextTokenizer
{
    /// <inheritdoc/>
    public string Name => "byte";
    /// <inheritdoc/>
    public int VocabSize => 256;
    /// <inheritdoc/>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        byte[] b = Encoding.UTF8.GetBytes(text);
        var ids = new int[b.Length];
        for (int i = 0; i < b.Length; i++) ids[i] = b[i];
        return ids;
    }
    /// <inheritdoc/>
    public string Decode(ReadOnlySpan<int> ids)
    {
        var b = new byte[ids.Length];
        for (int i = 0; i < ids.Length; i++) b[i] = (byte)ids[i];
        return Encoding.UTF8.GetString(b);
    }
}

/// <summary>GPT-2's BPE (r50k, V = 50257) through Microsoft.ML.Tokenizers and its Gpt2 data package (no download).</summary>
public sealed class Gpt2BpeTokenizer : ITextTokenizer
{
    private readonly Tokenizer _tok = TiktokenTokenizer.CreateForModel("gpt2");
    /// <inheritdoc/>
    public string Name => "gpt2";
    /// <inheritdoc/>
    public int VocabSize => 50257;
    /// <inheritdoc/>
    public int[] Encode(string text) => [.. _tok.EncodeToIds(text)];
    /// <inheritdoc/>
    public string Decode(ReadOnlySpan<int> ids) => _tok.Decode(ids.ToArray());
}

/// <summary>Tokenizers by name.</summary>
public static class TextTokenizers
{
    /// <summary>"byte" or "gpt2".</summary>
    /// <exception cref="ArgumentException">unknown name.</exception>
    public static ITextTokenizer Create(string name) => name switch
    {
        "byte" => new ByteTokenizer(),
        "gpt2" => new Gpt2BpeTokenizer(),
        _ => throw new ArgumentException($"unknown tokenizer '{name}' (known: byte, gpt2)", nameof(name)),
    };

    /// <summary>Reads a token file: an llm.c shard (by its magic) or UTF-8 text tokenised with <paramref name="tokenizer"/>.</summary>
    /// <exception cref="InvalidDataException">a malformed shard, or a file named *.bin without the shard magic.</exception>
    public static int[] Load(string path, ITextTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        if (TokenShard.LooksLikeShard(path)) return TokenShard.Read(path);
        if (path.EndsWith(".bin", StringComparison.OrdinalIgnoreCase)) return TokenShard.Read(path); // gives the precise error
        return tokenizer.Encode(File.ReadAllText(path, Encoding.UTF8));
    }
}
