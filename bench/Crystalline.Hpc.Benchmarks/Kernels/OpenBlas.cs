using System.Runtime.InteropServices;

namespace Crystalline.Hpc.Benchmarks.Kernels;

/// <summary>Debian's libopenblas through P/Invoke: the peer our SGEMM is measured against (bench only).</summary>
internal static unsafe partial class OpenBlas
{
    private const string Lib = "libopenblas.so.0";
    public const int RowMajor = 101, NoTrans = 111, Trans = 112;

    [LibraryImport(Lib, EntryPoint = "cblas_sgemm")]
    public static partial void Sgemm(int order, int transA, int transB, int m, int n, int k,
        float alpha, float* a, int lda, float* b, int ldb, float beta, float* c, int ldc);

    [LibraryImport(Lib, EntryPoint = "openblas_set_num_threads")]
    public static partial void SetNumThreads(int threads);

    [LibraryImport(Lib, EntryPoint = "openblas_get_corename")]
    private static partial byte* GetCoreName();

    [LibraryImport(Lib, EntryPoint = "openblas_get_config")]
    private static partial byte* GetConfig();

    public static bool TryLoad(out string error)
    {
        try
        {
            _ = CoreName;
            error = "";
            return true;
        }
        catch (DllNotFoundException e)
        {
            error = e.Message;
            return false;
        }
    }

    public static string CoreName => Marshal.PtrToStringUTF8((nint)GetCoreName()) ?? "?";
    public static string Config => Marshal.PtrToStringUTF8((nint)GetConfig()) ?? "?";
}
