using System.Buffers.Binary;
using Crystalline.Hpc.Model;
using Crystalline.Hpc.Training;
using Crystalline.Hpc.Tests.Cli;
using Xunit;

namespace Crystalline.Hpc.Tests.Training;

[Collection(ConsoleCollection.Name)]
public sealed class CheckpointAndCliTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "crystalline-train-tests-" + Guid.NewGuid().ToString("N"));

    public CheckpointAndCliTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private string P(string name) => Path.Combine(_dir, name);

    private static readonly string[] s_small =
        ["--layers", "1", "--heads", "2", "--channels", "16", "--context", "16", "--batch-size", "4", "--seq-len", "16",
         "--num-threads", "2", "--progress-every", "1000", "--val-batches", "1"];

    private static int Cli(params string[] args) => CliWithOutput(args).Code;

    private static (int Code, string Output) CliWithOutput(string[] args) => CliRunner.Run(args);

    private string Corpus(int bytes = 20_000)
    {
        string path = P("corpus.txt");
        if (!File.Exists(path)) File.WriteAllText(path, DefaultCorpus.Generate(bytes, 3));
        return path;
    }

    private sealed class FailingStream(Stream inner, long failAfter) : Stream
    {
        private long _written;
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (_written + buffer.Length > failAfter)
            {
                inner.Write(buffer[..(int)(failAfter - _written)]);
                throw new IOException("simulated crash in the middle of a checkpoint write");
            }
            inner.Write(buffer);
            _written += buffer.Length;
        }
    }

    [Fact]
    public void Checkpoint_round_trips_in_llm_c_format()
    {
        var cfg = new GptConfig(16, 37, 64, 2, 2, 16);
        using var p = new GptParameters(cfg);
        p.Initialize(3);
        GptCheckpoint.Write(P("m.bin"), p);
        byte[] b = File.ReadAllBytes(P("m.bin"));
        Assert.Equal(1024 + 4L * p.Count, b.Length);
        int[] expectHeader = [20240326, 3, 16, 37, 2, 2, 16, 64];
        for (int i = 0; i < expectHeader.Length; i++) Assert.Equal(expectHeader[i], BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(4 * i)));
        using var q = GptCheckpoint.Read(P("m.bin"));
        Assert.Equal(cfg, q.Config);
        Assert.True(p.All.SequenceEqual(q.All));
    }

    [Fact]
    public void An_interrupted_checkpoint_write_leaves_the_previous_one_intact()
    {
        var cfg = new GptConfig(16, 37, 64, 2, 2, 16);
        using var p = new GptParameters(cfg);
        p.Initialize(3);
        GptCheckpoint.Write(P("model.bin"), p);
        byte[] before = File.ReadAllBytes(P("model.bin"));
        using var st = new TrainingState(p.Count, 12) { Step = 7 };
        st.Write(P("state.bin"));
        byte[] stateBefore = File.ReadAllBytes(P("state.bin"));
        p.Initialize(4);
        st.Step = 8;
        AtomicFile.WrapStreamForTest = s => new FailingStream(s, 5000);
        try
        {
            Assert.Throws<IOException>(() => GptCheckpoint.Write(P("model.bin"), p));
            Assert.Throws<IOException>(() => st.Write(P("state.bin")));
        }
        finally { AtomicFile.WrapStreamForTest = null; }
        Assert.Equal(before, File.ReadAllBytes(P("model.bin")));
        Assert.Equal(stateBefore, File.ReadAllBytes(P("state.bin")));
        Assert.Equal(2, Directory.GetFiles(_dir).Length); // the temporary files were removed
        using var back = TrainingState.Read(P("state.bin"), p.Count, 12);
        Assert.Equal(7, back.Step);
    }

    [Fact]
    public void Token_shards_round_trip_and_bpe_tokenizer_loads()
    {
        int[] tokens = [0, 1, 65535, 50256, 42];
        TokenShard.Write(P("s.bin"), tokens);
        Assert.Equal(1024 + 10, new FileInfo(P("s.bin")).Length);
        Assert.Equal(tokens, TokenShard.Read(P("s.bin")));
        Assert.Throws<ArgumentException>(() => TokenShard.Write(P("t.bin"), [70000]));
        var bpe = new Gpt2BpeTokenizer();
        int[] ids = bpe.Encode("Hello world");
        Assert.Equal(new[] { 15496, 995 }, ids); // GPT-2's ids for "Hello", " world"
        Assert.Equal("Hello world", bpe.Decode(ids));
        Assert.Equal("héllo", new ByteTokenizer().Decode(new ByteTokenizer().Encode("héllo")));
    }

    [Fact]
    public void Resume_continues_bitwise_identically_to_an_uninterrupted_run()
    {
        string corpus = Corpus();
        string a = P("a"), b = P("b");
        Assert.Equal(0, Cli(["train", "--data", corpus, .. s_small, "--steps", "8", "--checkpoint-every", "4", "--checkpoint-dir", a]));
        Assert.True(File.Exists(Path.Combine(a, "model_00000004.bin")));
        Assert.True(File.Exists(Path.Combine(a, "model_00000008.bin")));
        Assert.True(File.Exists(Path.Combine(a, "loss.png")));
        Directory.CreateDirectory(b);
        foreach (string f in new[] { "model_00000004.bin", "state_00000004.bin" }) File.Copy(Path.Combine(a, f), Path.Combine(b, f));
        Assert.Equal(0, Cli(["train", "--data", corpus, .. s_small, "--steps", "8", "--checkpoint-every", "4", "--resume", Path.Combine(b, "model_00000004.bin"), "--checkpoint-dir", b]));
        Assert.Equal(File.ReadAllBytes(Path.Combine(a, "model_00000008.bin")), File.ReadAllBytes(Path.Combine(b, "model_00000008.bin")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(a, "state_00000008.bin")), File.ReadAllBytes(Path.Combine(b, "state_00000008.bin")));
    }

    private static string[] MetricsLines(string dir) => File.ReadAllLines(Path.Combine(dir, "metrics.csv"))[1..];

    [Fact]
    public void Resume_with_more_steps_extends_a_finished_run_and_the_schedule_follows_the_new_total()
    {
        string corpus = Corpus();
        string a = P("a");
        Assert.Equal(0, Cli(["train", "--data", corpus, .. s_small, "--steps", "4", "--checkpoint-dir", a]));
        byte[] model4 = File.ReadAllBytes(Path.Combine(a, "model_00000004.bin")), state4 = File.ReadAllBytes(Path.Combine(a, "state_00000004.bin"));
        Assert.Equal((4L, 1), TrainingState.ReadSchedule(Path.Combine(a, "state_00000004.bin")));

        var (code, output) = CliWithOutput(["train", "--data", corpus, .. s_small, "--steps", "8", "--resume", a]);
        Assert.True(code == 0, output);
        Assert.Contains("at step 4 of 8", output, StringComparison.Ordinal);
        Assert.Contains("extending the run from 4 to 8 steps", output, StringComparison.Ordinal);
        Assert.Contains("not bitwise that of an uninterrupted 8-step run", output, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(a, "model_00000008.bin")));
        Assert.Equal(model4, File.ReadAllBytes(Path.Combine(a, "model_00000004.bin")));   // the old checkpoint stays
        Assert.Equal(state4, File.ReadAllBytes(Path.Combine(a, "state_00000004.bin")));
        Assert.Equal((8L, 1), TrainingState.ReadSchedule(Path.Combine(a, "state_00000008.bin")));
        // metrics.csv continues: steps 1…8, and the learning rate of steps 5…8 is the 8-step schedule's
        // (warm-up 1, kept from the checkpoint although the 8-step default would also be 1).
        string[] rows = MetricsLines(a);
        Assert.Equal(Enumerable.Range(1, 8).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), rows.Select(r => r.Split(',')[0]));
        var eight = TrainingTestUtil.Options(4, 16) with { LearningRate = 1e-3f, WarmupSteps = 1, TotalSteps = 8 };
        var four = eight with { TotalSteps = 4 };
        for (int step = 1; step <= 8; step++)
        {
            float lr = float.Parse(rows[step - 1].Split(',')[3], System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal((step <= 4 ? four : eight).LearningRateAt(step - 1), lr);
        }
        Assert.NotEqual(four.LearningRateAt(4), eight.LearningRateAt(4)); // the schedule really moved

        // Asking again for 8 (or fewer) steps: nothing to do, exit 0, nothing written.
        var before = Snapshot(a);
        foreach (string steps in new[] { "8", "6" })
        {
            (code, output) = CliWithOutput(["train", "--data", corpus, .. s_small, "--steps", steps, "--resume", a]);
            Assert.True(code == 0, output);
            Assert.Contains($"already at step 8 of {steps}; nothing to do", output, StringComparison.Ordinal);
        }
        var after = Snapshot(a);
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
        foreach (var kv in before) Assert.True(kv.Value.AsSpan().SequenceEqual(after[kv.Key]), $"{kv.Key} changed");
    }

    [Fact]
    public void The_options_hash_leaves_out_the_step_count_and_the_legacy_hash_is_the_old_formula()
    {
        var o = TrainingTestUtil.Options(4, 6); // Tiny, lr 1e-2, warm-up 3, 20 steps
        Assert.Equal(o.Hash(), (o with { TotalSteps = 999 }).Hash());
        Assert.NotEqual(o.Hash(), (o with { WarmupSteps = 4 }).Hash());
        Assert.NotEqual(o.Hash(), (o with { LearningRate = 2e-2f }).Hash());
        // The text builds before 2026-11-28 hashed, written out literally (FNV-1a over its UTF-16 units).
        const string old = "8,11,16,2,2,8|4,6,1|0.01,0.1,3,20,0.1,1,0.9,0.95,1E-08,True";
        ulong h = 14695981039346656037UL;
        foreach (char c in old) { h ^= c; h *= 1099511628211UL; }
        Assert.Equal(h, o.LegacyHash());
        Assert.NotEqual(o.LegacyHash(), (o with { TotalSteps = 21 }).LegacyHash());
    }

    [Fact]
    public void The_state_header_records_the_schedule_and_the_data_and_old_files_read_as_unrecorded()
    {
        using var st = new TrainingState(10, 12) { Step = 3, TotalSteps = 5_000_000_000L, WarmupSteps = 7, DataFingerprint = 0xFEDCBA9876543210UL };
        st.Write(P("s.bin"));
        Assert.Equal((5_000_000_000L, 7), TrainingState.ReadSchedule(P("s.bin")));
        using (var back = TrainingState.Read(P("s.bin"), 10, 12))
        {
            Assert.Equal(5_000_000_000L, back.TotalSteps);
            Assert.Equal(0xFEDCBA9876543210UL, back.DataFingerprint);
        }
        byte[] b = File.ReadAllBytes(P("s.bin"));
        b.AsSpan(16, 20).Clear(); // header words 4–8 zero, as builds before 2026-11-28 wrote them
        File.WriteAllBytes(P("old.bin"), b);
        Assert.Null(TrainingState.ReadSchedule(P("old.bin")));
        using var old = TrainingState.Read(P("old.bin"), 10, 12);
        Assert.Equal((0L, 0, 0UL, 3L), (old.TotalSteps, old.WarmupSteps, old.DataFingerprint, old.Step));
        Assert.NotEqual(TrainingState.Fingerprint([1, 2, 3]), TrainingState.Fingerprint([1, 3, 2]));
        Assert.NotEqual(TrainingState.Fingerprint([0]), TrainingState.Fingerprint([0, 0]));
    }

    [Fact]
    public void A_checkpoint_from_before_resizable_runs_resumes_with_its_original_steps_only()
    {
        string corpus = Corpus();
        string a = P("a"), old = P("old");
        Assert.Equal(0, Cli(["train", "--data", corpus, .. s_small, "--steps", "4", "--checkpoint-every", "2", "--checkpoint-dir", a]));
        // Rewrite the step-2 state as an old build wrote it: no schedule or data in the header, the legacy hash.
        var cfg = GptConfig.FromPreset("tiny") with { NumLayers = 1, NumHeads = 2, Channels = 16, MaxSeqLen = 16 };
        var options = new TrainerOptions { Model = cfg, BatchSize = 4, SeqLen = 16, LearningRate = 1e-3f, WarmupSteps = 1, TotalSteps = 4, Seed = 1337 };
        byte[] state = File.ReadAllBytes(Path.Combine(a, "state_00000002.bin"));
        Assert.Equal(options.Hash(), BinaryPrimitives.ReadUInt64LittleEndian(state.AsSpan(1024 + 7 * 8)));
        state.AsSpan(16, 20).Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(state.AsSpan(1024 + 7 * 8), options.LegacyHash());
        Directory.CreateDirectory(old);
        File.Copy(Path.Combine(a, "model_00000002.bin"), Path.Combine(old, "model_00000002.bin"));
        File.WriteAllBytes(Path.Combine(old, "state_00000002.bin"), state);

        var (code, output) = CliWithOutput(["train", "--data", corpus, .. s_small, "--steps", "6", "--resume", old]);
        Assert.Equal(2, code);
        Assert.Contains("predates resizable runs: also keep its original --steps", output, StringComparison.Ordinal);
        (code, output) = CliWithOutput(["train", "--data", corpus, .. s_small, "--steps", "4", "--resume", old]);
        Assert.True(code == 0, output);
        Assert.Equal(File.ReadAllBytes(Path.Combine(a, "model_00000004.bin")), File.ReadAllBytes(Path.Combine(old, "model_00000004.bin")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(a, "state_00000004.bin")), File.ReadAllBytes(Path.Combine(old, "state_00000004.bin")));
    }

    [Fact]
    public void Extending_a_run_that_was_still_warming_up_equals_the_uninterrupted_longer_run_bitwise()
    {
        // Warm-up rates do not depend on the total, so 4 warm-up steps then an extension to 8 take the same
        // steps as 8 from the start: the extension itself (state, data position, moments) loses nothing.
        string corpus = Corpus();
        string whole = P("whole"), part = P("part");
        Assert.Equal(0, Cli(["train", "--data", corpus, .. s_small, "--steps", "8", "--warmup", "4", "--checkpoint-dir", whole]));
        Assert.Equal(0, Cli(["train", "--data", corpus, .. s_small, "--steps", "4", "--warmup", "4", "--checkpoint-dir", part]));
        var (code, output) = CliWithOutput(["train", "--data", corpus, .. s_small, "--steps", "8", "--resume", part]); // warm-up 4 comes from the checkpoint
        Assert.True(code == 0, output);
        Assert.Contains("continues exactly as an uninterrupted 8-step run with --warmup 4", output, StringComparison.Ordinal);
        Assert.Equal(File.ReadAllBytes(Path.Combine(whole, "model_00000008.bin")), File.ReadAllBytes(Path.Combine(part, "model_00000008.bin")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(whole, "state_00000008.bin")), File.ReadAllBytes(Path.Combine(part, "state_00000008.bin")));
        Assert.Equal(MetricsLines(whole).Select(r => r.Split(',')[1]), MetricsLines(part).Select(r => r.Split(',')[1])); // same losses
    }

    [Fact]
    public void Progress_bar_redraws_in_place_and_every_other_line_starts_on_its_own_line()
    {
        string corpus = Corpus();
        var (code, output) = CliWithOutput(["train", "--data", corpus, .. s_small, "--steps", "6", "--checkpoint-every", "3", "--progress", "bar", "--checkpoint-dir", P("bar")]);
        Assert.True(code == 0, output);
        Assert.Contains("\rstep 1/6 [", output, StringComparison.Ordinal);   // the run's first step is always drawn
        Assert.Contains("\rstep 6/6 [########################] 100.0% | loss ", output, StringComparison.Ordinal);
        Assert.Contains("ETA 0:00", output, StringComparison.Ordinal);
        Assert.Matches(@"\r[^\n]*\n  checkpoint .*model_00000003\.bin\n", output);
        foreach (string line in output.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n'))
        {
            if (!line.Contains('\r', StringComparison.Ordinal)) continue;
            // A line holding carriage returns is bar redraws only: nothing else was written into it.
            foreach (string draw in line.Split('\r')[1..]) Assert.StartsWith("step ", draw, StringComparison.Ordinal);
            Assert.StartsWith("\r", line, StringComparison.Ordinal);
        }
        Assert.Contains("\nhierarchy statistics, end of run", output, StringComparison.Ordinal);

        (code, output) = CliWithOutput(["train", "--data", corpus, .. s_small, "--steps", "6", "--progress", "lines", "--checkpoint-dir", P("lines")]);
        Assert.True(code == 0, output);
        Assert.DoesNotContain('\r', output);
        Assert.Contains("step       6/6 [########################] loss ", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Thread_allocation_strategy_is_shown_and_does_not_change_the_weights()
    {
        string corpus = Corpus();
        var models = new List<byte[]>();
        foreach (var (name, line) in new[] { ("round-robin", "thread   0: groups 0, 2, 4, 6, 8, 10"), ("block", "thread   0: groups 0, 1, 2, 3, 4, 5"), ("numa-spread", "thread   1 (node ") })
        {
            string dir = P("strategy-" + name);
            var (code, output) = CliWithOutput(["train", "--data", corpus, .. s_small, "--steps", "3", "--thread-allocation-strategy", name, "--checkpoint-dir", dir]);
            Assert.True(code == 0, output);
            Assert.Contains($"Thread allocation ({name}): 2 thread(s)", output, StringComparison.Ordinal);
            Assert.Contains(line, output, StringComparison.Ordinal);
            models.Add(File.ReadAllBytes(Path.Combine(dir, "model_00000003.bin")));
        }
        Assert.Equal(models[0], models[1]);
        Assert.Equal(models[0], models[2]);
    }

    [Fact]
    public void Bf16_precision_trains_shows_its_kernel_and_resumes_bitwise()
    {
        string corpus = Corpus();
        string whole = P("bf16-whole"), split = P("bf16-split");
        var (code, output) = CliWithOutput(["train", "--data", corpus, .. s_small, "--steps", "4", "--precision", "bf16", "--checkpoint-dir", whole]);
        Assert.True(code == 0, output);
        Assert.Contains("precision: bf16 mixed", output, StringComparison.Ordinal);
        (code, output) = CliWithOutput(["train", "--data", corpus, .. s_small, "--steps", "2", "--precision", "bf16", "--checkpoint-dir", split]);
        Assert.True(code == 0, output);
        (code, output) = CliWithOutput(["train", "--data", corpus, .. s_small, "--steps", "4", "--precision", "bf16", "--resume", split]);
        Assert.True(code == 0, output);
        Assert.Equal(File.ReadAllBytes(Path.Combine(whole, "model_00000004.bin")), File.ReadAllBytes(Path.Combine(split, "model_00000004.bin")));
        // Without --precision the resumed run would be fp32: refused, not silently mixed.
        (code, output) = CliWithOutput(["train", "--data", corpus, .. s_small, "--steps", "6", "--resume", split]);
        Assert.True(code == 2, output);
    }

    private Dictionary<string, byte[]> Snapshot(string dir) =>
        Directory.GetFiles(dir, "*", SearchOption.AllDirectories).ToDictionary(f => f, File.ReadAllBytes);

    [Fact]
    public void Bad_options_and_files_exit_2_and_overwrite_nothing()
    {
        string corpus = Corpus();
        string run = P("run");
        Assert.Equal(0, Cli(["train", "--data", corpus, .. s_small, "--steps", "2", "--checkpoint-dir", run]));
        string model = Path.Combine(run, "model_00000002.bin"), state = Path.Combine(run, "state_00000002.bin");
        byte[] m = File.ReadAllBytes(model), s = File.ReadAllBytes(state);

        void Write(string name, byte[] bytes) => File.WriteAllBytes(P(name), bytes);
        byte[] Patch(byte[] src, int offset, int value) { var c = (byte[])src.Clone(); BinaryPrimitives.WriteInt32LittleEndian(c.AsSpan(offset), value); return c; }
        Write("truncated_model_00000002.bin", m[..(m.Length / 2)]);
        Directory.CreateDirectory(P("trunc")); File.WriteAllBytes(Path.Combine(P("trunc"), "model_00000002.bin"), m[..(m.Length - 4)]); File.WriteAllBytes(Path.Combine(P("trunc"), "state_00000002.bin"), s);
        Directory.CreateDirectory(P("magic")); File.WriteAllBytes(Path.Combine(P("magic"), "model_00000002.bin"), Patch(m, 0, 1234)); File.WriteAllBytes(Path.Combine(P("magic"), "state_00000002.bin"), s);
        Directory.CreateDirectory(P("version")); File.WriteAllBytes(Path.Combine(P("version"), "model_00000002.bin"), Patch(m, 4, 1)); File.WriteAllBytes(Path.Combine(P("version"), "state_00000002.bin"), s);
        Directory.CreateDirectory(P("tstate")); File.WriteAllBytes(Path.Combine(P("tstate"), "model_00000002.bin"), m); File.WriteAllBytes(Path.Combine(P("tstate"), "state_00000002.bin"), s[..(s.Length - 8)]);
        Directory.CreateDirectory(P("vstate")); File.WriteAllBytes(Path.Combine(P("vstate"), "model_00000002.bin"), m); File.WriteAllBytes(Path.Combine(P("vstate"), "state_00000002.bin"), Patch(s, 4, 99));
        File.WriteAllText(P("other.txt"), DefaultCorpus.Generate(20_000, 4)); // same length, other text
        File.WriteAllText(P("tiny.txt"), DefaultCorpus.Generate(100, 3)); // one batch (65 tokens) but fewer than the checkpoint's position (128)
        File.WriteAllText(P("empty.txt"), "");
        File.WriteAllText(P("short.txt"), "only a few bytes");
        TokenShard.Write(P("good.bin"), Enumerable.Range(0, 5000).Select(i => i % 200).ToArray());
        byte[] shard = File.ReadAllBytes(P("good.bin"));
        Write("shard_trunc.bin", shard[..(shard.Length - 10)]);
        Write("shard_magic.bin", Patch(shard, 0, 7));
        Write("shard_version.bin", Patch(shard, 4, 2));
        TokenShard.Write(P("shard_vocab.bin"), Enumerable.Range(0, 5000).Select(i => i % 300).ToArray()); // tokens ≥ 256

        var before = Snapshot(_dir);
        (string Expect, string[] Args)[] bad =
        [
            ("unknown option", ["train", "--no-such-option"]),
            ("--steps must be in", ["train", "--steps", "0"]),
            ("not both", ["train", "--steps", "3", "--epochs", "1"]),
            ("exceeds the model's context", ["train", "--context", "16", "--seq-len", "32"]),
            ("not divisible", ["train", "--heads", "3", "--channels", "16"]),
            ("--init must be", ["train", "--init", "random"]),
            ("--thread-allocation-strategy must be one of round-robin, block, numa-spread", ["train", "--thread-allocation-strategy", "compact"]),
            ("--progress must be auto, bar or lines", ["train", "--progress", "fancy"]),
            ("--precision must be fp32 or bf16", ["train", "--precision", "fp16"]),
            ("missing.txt", ["train", "--data", P("missing.txt"), .. s_small]),
            ("corpus is empty", ["train", "--data", P("empty.txt"), .. s_small]),
            ("shorter than one batch", ["train", "--data", P("short.txt"), .. s_small]),
            ("truncated", ["train", "--data", P("shard_trunc.bin"), .. s_small]),
            ("not an llm.c token shard", ["train", "--data", P("shard_magic.bin"), .. s_small]),
            ("version 2 is not supported", ["train", "--data", P("shard_version.bin"), .. s_small]),
            ("vocabulary mismatch", ["train", "--data", P("shard_vocab.bin"), .. s_small]),
            ("truncated", ["train", "--data", corpus, "--val-data", P("shard_trunc.bin"), .. s_small]),
            ("truncated", ["train", "--data", corpus, .. s_small, "--steps", "4", "--resume", P("truncated_model_00000002.bin")]),
            ("truncated", ["train", "--data", corpus, .. s_small, "--steps", "4", "--resume", P("trunc")]),
            ("not an llm.c GPT-2 checkpoint", ["train", "--data", corpus, .. s_small, "--steps", "4", "--resume", P("magic")]),
            ("version 1 is not supported", ["train", "--data", corpus, .. s_small, "--steps", "4", "--resume", P("version")]),
            ("truncated", ["train", "--data", corpus, .. s_small, "--steps", "4", "--resume", P("tstate")]),
            ("training-state version 99", ["train", "--data", corpus, .. s_small, "--steps", "4", "--resume", P("vstate")]),
            ("shape mismatch", ["train", "--data", corpus, .. s_small[2..], "--layers", "2", "--steps", "4", "--resume", run]),
            ("training tokens differ", ["train", "--data", P("other.txt"), .. s_small, "--steps", "4", "--resume", run]),
            ("beyond the training corpus", ["train", "--data", P("tiny.txt"), .. s_small, "--steps", "4", "--resume", Path.Combine(run, "model_00000002.bin")]),
            ("warmed up over 1 steps", ["train", "--data", corpus, .. s_small, "--warmup", "3", "--steps", "4", "--resume", run]),
            ("only --steps or --epochs may change", ["train", "--data", corpus, .. s_small, "--lr", "0.5", "--steps", "4", "--resume", run]),
            ("only --steps or --epochs may change", ["train", "--data", corpus, .. s_small, "--precision", "bf16", "--steps", "4", "--resume", run]),
            ("shape mismatch", ["train", "--data", corpus, .. s_small, "--model", "gpt2-124M", "--steps", "4", "--resume", run]),
            ("already holds checkpoints", ["train", "--data", corpus, .. s_small, "--steps", "4", "--checkpoint-dir", run]),
            ("does not exist", ["train", "--data", corpus, .. s_small, "--steps", "4", "--resume", P("nowhere")]),
            ("is empty", ["tokenize", "--input", P("empty.txt"), "--output-dir", _dir]),
            ("--input FILE is required", ["tokenize"]),
        ];
        foreach (var (expect, args) in bad)
        {
            var (code, output) = CliWithOutput(args);
            Assert.True(code == 2, $"expected exit code 2 for: {string.Join(' ', args)}; got {code}: {output}");
            Assert.True(output.Contains(expect, StringComparison.Ordinal), $"for {string.Join(' ', args)} expected a message with '{expect}', got: {output}");
        }
        var after = Snapshot(_dir);
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
        foreach (var kv in before) Assert.True(kv.Value.AsSpan().SequenceEqual(after[kv.Key]), $"{kv.Key} changed");
    }
}
