using System.Runtime.Intrinsics;

namespace Crystalline.Hpc.Kernels;

/// <summary>x + y. IEEE addition at every width, so all widths agree bitwise.</summary>
internal readonly struct AddOperator : IBinaryOperator
{
    public static float Invoke(float x, float y) => x + y;
    public static Vector128<float> Invoke(Vector128<float> x, Vector128<float> y) => x + y;
    public static Vector256<float> Invoke(Vector256<float> x, Vector256<float> y) => x + y;
    public static Vector512<float> Invoke(Vector512<float> x, Vector512<float> y) => x + y;
}

/// <summary>x · y. IEEE multiplication at every width, so all widths agree bitwise.</summary>
internal readonly struct MultiplyOperator : IBinaryOperator
{
    public static float Invoke(float x, float y) => x * y;
    public static Vector128<float> Invoke(Vector128<float> x, Vector128<float> y) => x * y;
    public static Vector256<float> Invoke(Vector256<float> x, Vector256<float> y) => x * y;
    public static Vector512<float> Invoke(Vector512<float> x, Vector512<float> y) => x * y;
}
