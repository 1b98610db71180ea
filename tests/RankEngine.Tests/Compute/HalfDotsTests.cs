using RankEngine.Compute.Simd;
using Xunit;

namespace RankEngine.Tests.Compute;

/// <summary>The fp16 first pass's in-register widening and dot products, against .NET's own Half → float conversion.</summary>
public class HalfDotsTests
{
    [Fact]
    public void Every_finite_half_widens_exactly()
    {
        for (int bits = 0; bits < 65536; bits++)
        {
            if ((bits & 0x7C00) == 0x7C00) continue;           // ∞ and NaN: documented to widen to a large finite value
            float expected = (float)BitConverter.UInt16BitsToHalf((ushort)bits);
            float actual = HalfDots.Widen((ushort)bits);
            Assert.True(BitConverter.SingleToUInt32Bits(expected) == BitConverter.SingleToUInt32Bits(actual),
                $"half 0x{bits:X4}: expected {expected:R}, got {actual:R}");
        }
        Assert.Equal(65536f, HalfDots.Widen(0x7C00));          // +∞ → 2^16
        Assert.Equal(-65536f, HalfDots.Widen(0xFC00));
    }

    [Theory]
    [InlineData(1, 3)]
    [InlineData(15, 5)]
    [InlineData(16, 4)]
    [InlineData(31, 9)]
    [InlineData(32, 8)]
    [InlineData(33, 7)]
    [InlineData(100, 13)]
    [InlineData(384, 6)]
    public unsafe void Dots_equal_a_double_precision_reference(int dim, int n)
    {
        var random = new Random(dim * 31 + n);
        var query = Enumerable.Range(0, dim).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var rows = new Half[n * dim];
        for (int i = 0; i < rows.Length; i++)
            rows[i] = (i % 17) switch
            {
                0 => BitConverter.UInt16BitsToHalf((ushort)random.Next(1, 0x400)),   // subnormal halves
                1 => (Half)(-60000f),                                                  // near the top of the range
                2 => Half.Zero,
                _ => (Half)(random.NextDouble() * 4 - 2),
            };
        var output = new float[n];
        fixed (float* q = query, o = output)
        fixed (Half* r = rows)
            HalfDots.DotRows(q, r, dim, n, o);
        for (int i = 0; i < n; i++)
        {
            double expected = 0, magnitude = 0;
            for (int j = 0; j < dim; j++)
            {
                double term = (double)(float)rows[i * dim + j] * query[j];
                expected += term;
                magnitude += Math.Abs(term);
            }
            // fp32 accumulation of dim terms: error well within dim · 2⁻²⁴ of the terms' magnitude.
            Assert.True(Math.Abs(output[i] - expected) <= magnitude * dim * 6e-8 + 1e-30,
                $"row {i}: expected {expected}, got {output[i]} (terms up to {magnitude})");
        }
    }
}
