namespace Crystalline.Hpc.Model;

/// <summary>
/// Writes a file so that readers see either the old content or the complete new one: the bytes go
/// to a temporary file beside the target, are flushed to disk, and the temporary file is renamed over
/// the target. A write that fails midway deletes the temporary file and leaves the target untouched.
/// </summary>
internal static class AtomicFile
{
    /// <summary>Test hook: when set, wraps the temporary file's stream (e.g. to fail after N bytes). Per thread, so parallel tests do not see it.</summary>
    [ThreadStatic]
    internal static Func<Stream, Stream>? WrapStreamForTest;

    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full) ?? ".";
        string tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                Stream s = WrapStreamForTest?.Invoke(fs) ?? fs;
                write(s);
                s.Flush();
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }
}
