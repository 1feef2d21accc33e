using System.Globalization;
using System.Text;

namespace Crystalline.Hpc.Training;

/// <summary>One row of the metrics CSV.</summary>
internal readonly record struct MetricsRow(long Step, double Loss, double ValLoss, float LearningRate, double GradNorm, double MsPerStep, double TokensPerSecond, long Crossings);

/// <summary>The run's metrics: a CSV (step, loss, val_loss, lr, grad_norm, ms_step, tokens_per_s, crossings) and a loss-curve PNG (ScottPlot).</summary>
internal sealed class MetricsLog
{
    public const string Header = "step,loss,val_loss,lr,grad_norm,ms_step,tokens_per_s,boundary_crossings";
    private readonly List<MetricsRow> _rows = new();

    public IReadOnlyList<MetricsRow> Rows => _rows;

    public void Add(MetricsRow r) => _rows.Add(r);

    public void SetLastValLoss(double val)
    {
        if (_rows.Count > 0) _rows[^1] = _rows[^1] with { ValLoss = val };
    }

    /// <summary>Keeps the rows of an earlier CSV up to <paramref name="maxStep"/> (a resumed run continues its curve).</summary>
    public void LoadPrefix(string path, long maxStep)
    {
        if (!File.Exists(path)) return;
        foreach (string line in File.ReadLines(path).Skip(1))
        {
            string[] f = line.Split(',');
            if (f.Length != 8) continue;
            static double D(string s) => s.Length == 0 ? double.NaN : double.Parse(s, CultureInfo.InvariantCulture);
            long step = long.Parse(f[0], CultureInfo.InvariantCulture);
            if (step > maxStep) continue;
            _rows.Add(new MetricsRow(step, D(f[1]), D(f[2]), (float)D(f[3]), D(f[4]), D(f[5]), D(f[6]), long.Parse(f[7], CultureInfo.InvariantCulture)));
        }
    }

    public void WriteCsv(string path)
    {
        var sb = new StringBuilder(Header).Append('\n');
        static string F(double x) => double.IsNaN(x) ? "" : x.ToString("R", CultureInfo.InvariantCulture);
        foreach (var r in _rows)
            sb.Append(r.Step.ToString(CultureInfo.InvariantCulture)).Append(',').Append(F(r.Loss)).Append(',').Append(F(r.ValLoss)).Append(',')
              .Append(F(r.LearningRate)).Append(',').Append(F(r.GradNorm)).Append(',').Append(F(r.MsPerStep)).Append(',')
              .Append(F(r.TokensPerSecond)).Append(',').Append(r.Crossings.ToString(CultureInfo.InvariantCulture)).Append('\n');
        Model.AtomicFile.Write(path, s => s.Write(Encoding.UTF8.GetBytes(sb.ToString())));
    }

    /// <summary>Training loss (and validation loss where measured) against the step; <paramref name="reference"/> draws a horizontal line (e.g. the unigram entropy).</summary>
    public void WritePng(string path, string title, double reference = double.NaN, string referenceLabel = "")
    {
        if (_rows.Count == 0) return;
        var plt = new ScottPlot.Plot();
        double[] xs = _rows.Select(r => (double)r.Step).ToArray();
        var train = plt.Add.Scatter(xs, _rows.Select(r => r.Loss).ToArray());
        train.LegendText = "train loss";
        train.MarkerSize = 0;
        var val = _rows.Where(r => !double.IsNaN(r.ValLoss)).ToArray();
        if (val.Length > 0)
        {
            var v = plt.Add.Scatter(val.Select(r => (double)r.Step).ToArray(), val.Select(r => r.ValLoss).ToArray());
            v.LegendText = "validation loss";
            v.MarkerSize = 6;
        }
        if (!double.IsNaN(reference))
        {
            var h = plt.Add.HorizontalLine(reference);
            h.LegendText = referenceLabel;
        }
        plt.Title(title);
        plt.XLabel("step");
        plt.YLabel("cross-entropy (nats/token)");
        plt.ShowLegend(ScottPlot.Alignment.UpperRight);
        string full = Path.GetFullPath(path);
        string tmp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp.png");
        plt.SavePng(tmp, 900, 500);
        File.Move(tmp, full, overwrite: true);
    }
}
