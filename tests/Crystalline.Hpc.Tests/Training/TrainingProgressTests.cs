using Crystalline.Hpc.Training;
using Xunit;

namespace Crystalline.Hpc.Tests.Training;

public sealed class TrainingProgressTests
{
    private static ProgressSnapshot At(long step, long total = 100, double ms = 10) =>
        new(step, total, 2.5 - step * 0.01, 512 / (ms / 1000.0), ms, 1e-3f, 0.5);

    [Fact]
    public void Redirected_output_is_one_whole_line_per_report_and_no_carriage_return()
    {
        var w = new StringWriter { NewLine = "\n" };
        var p = new TrainingProgress(w, interactive: false);
        p.Report(At(10));
        p.WriteLine("  ◆ boundary");
        p.Report(At(20));
        p.EndBar();
        string text = w.ToString();
        Assert.DoesNotContain('\r', text);
        string[] lines = text.Split('\n');
        Assert.Equal(4, lines.Length); // three lines and the empty rest after the last newline
        Assert.Equal("", lines[3]);
        Assert.StartsWith("step      10/100 [##......................] loss 2.4000 |", lines[0], StringComparison.Ordinal);
        Assert.Equal("  ◆ boundary", lines[1]);
        Assert.StartsWith("step      20/100 [####....................]", lines[2], StringComparison.Ordinal);
        Assert.Contains("51,200 tok/s", lines[0], StringComparison.Ordinal);
        Assert.Contains("10.0 ms/step", lines[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Interactive_updates_redraw_one_line_in_place_and_never_write_a_newline_between_them()
    {
        var w = new StringWriter { NewLine = "\n" };
        var p = new TrainingProgress(w, interactive: true);
        for (int s = 1; s <= 5; s++) p.Report(At(s));
        string text = w.ToString();
        Assert.DoesNotContain('\n', text);
        Assert.Equal(5, text.Count(c => c == '\r'));
        string last = text[(text.LastIndexOf('\r') + 1)..];
        Assert.Equal("step 5/100 [#.......................]   5.0% | loss 2.4500 | 51,200 tok/s | 10.0 ms/step | ETA 0:01", last.TrimEnd(' '));
    }

    [Fact]
    public void A_shorter_redraw_is_padded_over_the_previous_one()
    {
        var w = new StringWriter { NewLine = "\n" };
        var p = new TrainingProgress(w, interactive: true);
        p.Report(At(1, ms: 123456.7));   // long ms/step and ETA
        int first = w.ToString().Length - 1;
        p.Report(At(2, ms: 1));
        string second = w.ToString()[(first + 1)..];
        Assert.StartsWith("\r", second, StringComparison.Ordinal);
        Assert.Equal(first, second.Length - 1); // covers every column of the longer line
        Assert.EndsWith(" ", second, StringComparison.Ordinal);
    }

    [Fact]
    public void Other_lines_end_the_bar_first_so_they_never_share_its_line()
    {
        var w = new StringWriter { NewLine = "\n" };
        var p = new TrainingProgress(w, interactive: true);
        p.Report(At(3));
        p.Report(At(4));
        p.WriteLine("  ◆ 144000-token boundary crossed");
        p.EndBar(); // nothing drawn since: no empty line
        p.WriteLine("hierarchy statistics");
        p.Report(At(5));
        p.EndBar();
        p.EndBar(); // idempotent
        string[] lines = w.ToString().Split('\n');
        Assert.Equal(5, lines.Length);
        Assert.StartsWith("\rstep 3/100", lines[0], StringComparison.Ordinal);
        Assert.Contains("\rstep 4/100", lines[0], StringComparison.Ordinal);
        Assert.Equal("  ◆ 144000-token boundary crossed", lines[1]);
        Assert.Equal("hierarchy statistics", lines[2]);
        Assert.StartsWith("\rstep 5/100", lines[3], StringComparison.Ordinal);
        Assert.Equal("", lines[4]);
    }

    [Fact]
    public void Interactive_bar_is_cut_to_the_terminal_width()
    {
        var w = new StringWriter();
        var p = new TrainingProgress(w, interactive: true, terminalWidth: 40);
        p.Report(At(50));
        Assert.Equal(1 + 39, w.ToString().Length);
    }

    [Theory]
    [InlineData(false, 10, 100, 5, false, 0.0, true)]    // redirected: every 5th step
    [InlineData(false, 12, 100, 5, false, 0.0, false)]
    [InlineData(false, 15, 100, 5, true, 0.0, true)]
    [InlineData(false, 11, 100, 5, true, 500.0, false)]  // redirected: neither "first" nor time matters
    [InlineData(false, 100, 100, 7, false, 0.0, true)]   // the last step always
    [InlineData(true, 11, 100, 5, true, 0.0, true)]      // interactive: the run's first step
    [InlineData(true, 15, 100, 5, false, 50.0, false)]   // interactive: throttled by time, not by step
    [InlineData(true, 13, 100, 5, false, 100.0, true)]
    [InlineData(true, 100, 100, 5, false, 0.0, true)]
    public void Reports_are_due_by_step_when_redirected_and_by_time_when_interactive(bool interactive, long step, long total, long every, bool first, double ms, bool expected)
    {
        var p = new TrainingProgress(TextWriter.Null, interactive);
        Assert.Equal(expected, p.IsDue(step, total, every, first, ms));
    }

    [Theory]
    [InlineData(0.0, "0:00")]
    [InlineData(59_400.0, "1:00")] // rounded up to whole seconds
    [InlineData(61_000.0, "1:01")]
    [InlineData(3_725_000.0, "1:02:05")]
    public void Eta_is_minutes_and_seconds_or_hours(double ms, string expected)
    {
        Assert.Equal(expected, TrainingProgress.FormatEta(TimeSpan.FromMilliseconds(ms)));
    }

    [Fact]
    public void Eta_is_the_remaining_steps_at_the_measured_rate()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(900 * 4.0), At(100, total: 1000, ms: 4).Eta);
        Assert.Equal(TimeSpan.Zero, At(1000, total: 1000).Eta);
        Assert.Null(At(1, ms: double.NaN).Eta);
        Assert.Null(At(1, total: long.MaxValue / 2, ms: 1e6).Eta); // too far to say, and no overflow
        Assert.Equal("?", TrainingProgress.FormatEta(null));
    }
}
