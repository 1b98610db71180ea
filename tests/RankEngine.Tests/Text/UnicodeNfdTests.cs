using RankEngine.Text;
using Xunit;

namespace RankEngine.Tests.Text;

/// <summary>Our NFD tables against values from the Unicode Standard (§3.11–3.12, UAX #15 examples).</summary>
public sealed class UnicodeNfdTests
{
    [Theory]
    [InlineData(0x0041, new[] { 0x0041 })]                  // A: no decomposition
    [InlineData(0x00E9, new[] { 0x0065, 0x0301 })]          // é
    [InlineData(0x1E9B, new[] { 0x017F, 0x0307 })]          // ẛ: long s with dot above
    [InlineData(0x1F82, new[] { 0x03B1, 0x0313, 0x0300, 0x0345 })] // ᾂ: the longest, 4 code points
    [InlineData(0x212B, new[] { 0x0041, 0x030A })]          // Å angstrom sign: singleton, then decomposed again
    [InlineData(0xAC00, new[] { 0x1100, 0x1161 })]          // 가: Hangul LV
    [InlineData(0xD55C, new[] { 0x1112, 0x1161, 0x11AB })]  // 한: Hangul LVT
    [InlineData(0xFB01, new[] { 0xFB01 })]                  // ﬁ: compatibility only, not canonical
    [InlineData(0x2F800, new[] { 0x4E3D })]                 // CJK compatibility ideograph outside the BMP
    public void Decompose_GivesTheCanonicalDecomposition(int codePoint, int[] expected)
    {
        Span<int> buffer = stackalloc int[UnicodeNfd.MaxDecompositionLength];
        int n = UnicodeNfd.Decompose(codePoint, buffer);
        Assert.Equal(expected, buffer[..n].ToArray());
    }

    [Fact]
    public void CombiningClasses_AndReordering_FollowTheStandard()
    {
        Assert.Equal(0, UnicodeNfd.GetCombiningClass('a'));
        Assert.Equal(230, UnicodeNfd.GetCombiningClass(0x0301));
        Assert.Equal(220, UnicodeNfd.GetCombiningClass(0x0323));
        Assert.Equal(240, UnicodeNfd.GetCombiningClass(0x0345));
        Assert.Equal(216, UnicodeNfd.GetCombiningClass(0x1D165));

        // UAX #15: ẛ̣ (U+1E9B U+0323) decomposes to ſ U+0307 U+0323 and reorders to ſ U+0323 U+0307.
        int[] text = [0x017F, 0x0307, 0x0323, 0x0061, 0x0301, 0x0323];
        UnicodeNfd.Reorder(text);
        Assert.Equal([0x017F, 0x0323, 0x0307, 0x0061, 0x0323, 0x0301], text); // never across the starter "a"
    }
}
