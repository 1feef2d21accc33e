using Crystalline.Hpc.Training;

namespace Crystalline.Cli.Commands;

/// <summary><c>crystalline tokenize</c>: UTF-8 text → llm.c token shards (train and validation).</summary>
internal static class TokenizeCommand
{
    public static int Run(string[] args)
    {
        var a = new CliArgs(args, [], ["--input", "--output-dir", "--tokenizer", "--val-fraction", "--name"]);
        if (a.Positional.Count > 0) throw new CliUsageException($"unexpected argument '{a.Positional[0]}'");
        string input = a.GetString("--input") ?? throw new CliUsageException("--input FILE is required (UTF-8 text, or 'builtin' for the built-in corpus)");
        string outDir = a.GetString("--output-dir", ".");
        double valFraction = a.GetDouble("--val-fraction", 0.1, 0, 0.9);
        ITextTokenizer tok;
        try { tok = TextTokenizers.Create(a.GetString("--tokenizer", "byte")); }
        catch (ArgumentException e) { throw new CliUsageException(e.Message); }
        string text;
        try { text = input == "builtin" ? DefaultCorpus.Generate() : File.ReadAllText(input); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new CliUsageException(e.Message); }
        if (text.Length == 0) throw new CliUsageException($"{input} is empty");
        int[] ids = tok.Encode(text);
        int nVal = (int)(ids.Length * valFraction);
        string name = a.GetString("--name", input == "builtin" ? "builtin" : Path.GetFileNameWithoutExtension(input));
        Directory.CreateDirectory(outDir);
        string trainPath = Path.Combine(outDir, $"{name}_train.bin"), valPath = Path.Combine(outDir, $"{name}_val.bin");
        TokenShard.Write(trainPath, ids.AsSpan(0, ids.Length - nVal));
        Console.WriteLine($"{trainPath}: {ids.Length - nVal:N0} tokens ({tok.Name}, V = {tok.VocabSize})");
        if (nVal > 0)
        {
            TokenShard.Write(valPath, ids.AsSpan(ids.Length - nVal));
            Console.WriteLine($"{valPath}: {nVal:N0} tokens");
        }
        return 0;
    }
}
