using System.Globalization;

namespace Crystalline.Hpc.Training;

/// <summary>What one progress report shows.</summary>
/// <param name="Step">Optimizer steps done (1-based: the step just finished).</param>
/// <param name="Total">The run's total steps.</param>
/// <param name="Loss">Training loss of that step.</param>
/// <param name="TokensPerSecond">Throughput over the steps since the previous report.</param>
/// <param name="MsPerStep">Mean wall time per step since the previous report.</param>
/// <param name="LearningRate">Learning rate of that step.</param>
/// <param name="GradNorm">Global gradient norm of that step.</param>
internal readonly record struct ProgressSnapshot(long Step, long Total, double Loss, double TokensPerSecond, double MsPerStep, float LearningRate, double GradNorm)
{
    /// <summary>Estimated time to the end: the remaining steps at <see cref="MsPerStep"/>; zero when done, null when unknown or beyond <see cref="TimeSpan.MaxValue"/>.</summary>
    public TimeSpan? Eta
    {
        get
        {
            double ms = Math.Max(0, Total - Step) * MsPerStep;
            return double.IsFinite(ms) && ms >= 0 && ms < TimeSpan.MaxValue.TotalMilliseconds / 2 ? TimeSpan.FromMilliseconds(ms) : null;
        }
    }
}

/// <summary>
/// The training progress display. Interactive (a terminal): one bar line redrawn in place with a
/// carriage return, padded with spaces over whatever the previous draw left, never a newline between
/// updates. Redirected (a file, a pipe, CI, tests): one whole line per report, so logs stay readable.
/// Every other line (validation, boundary crossings, statistics, checkpoints) goes through
/// <see cref="WriteLine"/>, which first ends a bar that is on screen so the two never share a line.
/// </summary>
/// <remarks>
/// Drawn by the control thread between training steps; it allocates strings, which is fine there
/// (the zero-allocation promise is about <see cref="Trainer.Step"/>).
/// </remarks>
internal sealed class TrainingProgress
{
    /// <summary>Minimum time between two interactive redraws: a terminal need not repaint at 300 Hz.</summary>
    public const double RedrawIntervalMs = 100;
    private const int BarWidth = 24;

    private readonly TextWriter _out;
    private readonly int _maxWidth;
    private int _drawnLength;   // characters of the bar now on the current line (0: the cursor is at a line start)

    /// <param name="writer">Where to write.</param>
    /// <param name="interactive">True for a terminal (redraw in place), false for redirected output (whole lines).</param>
    /// <param name="terminalWidth">Columns of the terminal; an interactive bar is cut to one less so it never wraps (≤ 0: no limit).</param>
    public TrainingProgress(TextWriter writer, bool interactive, int terminalWidth = 0)
    {
        ArgumentNullException.ThrowIfNull(writer);
        _out = writer;
        Interactive = interactive;
        _maxWidth = terminalWidth > 1 ? terminalWidth - 1 : int.MaxValue;
    }

    public bool Interactive { get; }

    /// <summary>
    /// Whether the step just finished deserves a report. Redirected: every <paramref name="every"/>-th
    /// step and the last. Interactive: the first step of the run, the last, and otherwise once
    /// <see cref="RedrawIntervalMs"/> has passed since the previous draw.
    /// </summary>
    public bool IsDue(long step, long total, long every, bool firstOfRun, double msSinceLastReport)
    {
        if (step >= total) return true;
        if (!Interactive) return every > 0 && step % every == 0;
        return firstOfRun || msSinceLastReport >= RedrawIntervalMs;
    }

    /// <summary>Shows a report: the bar redrawn in place (interactive) or one line (redirected).</summary>
    public void Report(in ProgressSnapshot s)
    {
        if (!Interactive)
        {
            _out.WriteLine(FormatLine(s));
            return;
        }
        string bar = FormatBar(s);
        if (bar.Length > _maxWidth) bar = bar[.._maxWidth];
        int pad = Math.Max(0, _drawnLength - bar.Length);
        _out.Write('\r');
        _out.Write(bar);
        if (pad > 0) _out.Write(new string(' ', pad));
        _out.Flush();
        _drawnLength = bar.Length;
    }

    /// <summary>Writes a whole line of other output; a bar on screen is ended first (it stays as it was, the line goes below).</summary>
    public void WriteLine(string text)
    {
        EndBar();
        _out.WriteLine(text);
    }

    /// <summary>Ends the bar's line if one is drawn, so the next output starts on a fresh line. Idempotent.</summary>
    public void EndBar()
    {
        if (_drawnLength == 0) return;
        _out.WriteLine();
        _out.Flush();
        _drawnLength = 0;
    }

    /// <summary>The redirected form: one line per report.</summary>
    public static string FormatLine(in ProgressSnapshot s) => FormattableString.Invariant(
        $"step {s.Step,7}/{s.Total} [{Bar(s.Step, s.Total)}] loss {s.Loss:F4} | {s.TokensPerSecond,9:N0} tok/s | {s.MsPerStep,8:F1} ms/step | lr {s.LearningRate:0.00e+00} | norm {s.GradNorm:F3}");

    /// <summary>The interactive form: step/total, bar, percentage, loss, tokens/s, ms/step and ETA.</summary>
    public static string FormatBar(in ProgressSnapshot s)
    {
        double pct = s.Total > 0 ? 100.0 * s.Step / s.Total : 0;
        return FormattableString.Invariant(
            $"step {s.Step}/{s.Total} [{Bar(s.Step, s.Total)}] {pct,5:F1}% | loss {s.Loss:F4} | {s.TokensPerSecond:N0} tok/s | {s.MsPerStep:F1} ms/step | ETA {FormatEta(s.Eta)}");
    }

    /// <summary>h:mm:ss (or m:ss under an hour; "?" when unknown).</summary>
    public static string FormatEta(TimeSpan? eta)
    {
        if (eta is not { } e) return "?";
        long seconds = (long)Math.Ceiling(e.TotalSeconds);
        long h = seconds / 3600, m = seconds / 60 % 60, sec = seconds % 60;
        return h > 0
            ? string.Create(CultureInfo.InvariantCulture, $"{h}:{m:D2}:{sec:D2}")
            : string.Create(CultureInfo.InvariantCulture, $"{m}:{sec:D2}");
    }

    private static string Bar(long step, long total)
    {
        int filled = total > 0 ? (int)Math.Clamp(BarWidth * step / total, 0, BarWidth) : 0;
        return new string('#', filled) + new string('.', BarWidth - filled);
    }
}
