using RankEngine.Compute;
using Xunit;

namespace RankEngine.Tests.Support;

/// <summary>Shared helpers of the op parity tests (SIMD and ILGPU against the reference).</summary>
internal static class OpTestKit
{
    /// <summary>Seeded uniform values in [−scale, scale).</summary>
    public static float[] Random(int count, int seed, float scale = 1f)
    {
        var rng = new Random(seed);
        var v = new float[count];
        for (int i = 0; i < v.Length; i++) v[i] = (float)(rng.NextDouble() * 2 - 1) * scale;
        return v;
    }

    /// <summary>A backend tensor holding <paramref name="values"/>.</summary>
    public static IDeviceTensor Tensor(IComputeBackend b, float[] values, int rows, int cols)
    {
        var t = b.Allocate(rows, cols);
        b.Upload(values, t);
        return t;
    }

    /// <summary>The first <paramref name="count"/> values of a backend tensor.</summary>
    public static float[] Download(IComputeBackend b, IDeviceTensor t, int count)
    {
        var values = new float[count];
        b.Download(t, values);
        return values;
    }

    /// <summary>Runs an op producing a tensor, downloads <paramref name="count"/> values and disposes it.</summary>
    public static float[] Run(IComputeBackend b, Func<IComputeBackend, IDeviceTensor> op, int count)
    {
        using var result = op(b);
        return Download(b, result, count);
    }

    /// <summary>Element-wise closeness with a tolerance relative to max(1, |expected|); names the first bad element.</summary>
    public static void AssertClose(float[] expected, float[] actual, float tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            float tol = tolerance * Math.Max(1f, Math.Abs(expected[i]));
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol, $"{what}: element {i}: expected {expected[i]:g9}, got {actual[i]:g9}");
        }
    }
}
