using RankEngine.Text;
using Xunit;

namespace RankEngine.Tests.Text;

public sealed class TokenizedBatchTests
{
    // Three sequences of lengths 3, 1 and 2; the second was cut from 5 tokens.
    private static TokenizedBatch Sample(int[]? types = null) =>
        new([7, 8, 9, 4, 5, 6], [0, 3, 4, 6], [3, 5, 2], padId: -1, types);

    [Fact]
    public void Accessors_DescribeEachSequence()
    {
        TokenizedBatch batch = Sample();
        Assert.Equal(3, batch.Count);
        Assert.Equal(6, batch.TotalTokens);
        Assert.Equal(3, batch.MaxSequenceLength);
        Assert.Equal([4], batch.GetSequence(1).ToArray());
        Assert.Equal(2, batch.GetLength(2));
        Assert.Equal(5, batch.GetOriginalLength(1));
        Assert.Equal([false, true, false], new[] { batch.IsTruncated(0), batch.IsTruncated(1), batch.IsTruncated(2) });
        Assert.False(batch.HasTokenTypeIds);
        Assert.True(batch.TokenTypeIds.IsEmpty);
        Assert.Throws<ArgumentOutOfRangeException>(() => batch.GetSequence(3));
        Assert.Throws<ArgumentOutOfRangeException>(() => batch.GetLength(-1));
    }

    [Fact]
    public void ToPadded_PadsRowsAndMasksPadding()
    {
        PaddedBatch padded = Sample([0, 0, 1, 0, 1, 1]).ToPadded(4);
        Assert.Equal((3, 4), (padded.Rows, padded.Columns));
        Assert.Equal([7, 8, 9, -1, /**/ 4, -1, -1, -1, /**/ 5, 6, -1, -1], padded.InputIds);
        Assert.Equal([1, 1, 1, 0, /**/ 1, 0, 0, 0, /**/ 1, 1, 0, 0], padded.AttentionMask);
        Assert.Equal([0, 0, 1, 0, /**/ 0, 0, 0, 0, /**/ 1, 1, 0, 0], padded.TokenTypeIds);

        PaddedBatch natural = Sample().ToPadded();
        Assert.Equal(3, natural.Columns);
        Assert.All(natural.TokenTypeIds, t => Assert.Equal(0, t));
    }

    [Fact]
    public void CopyPadded_OverwritesReusedBuffers()
    {
        int[] ids = Enumerable.Repeat(99, 9).ToArray();
        int[] mask = Enumerable.Repeat(99, 9).ToArray();
        Sample().CopyPadded(3, ids, mask);
        Assert.Equal([7, 8, 9, 4, -1, -1, 5, 6, -1], ids);
        Assert.Equal([1, 1, 1, 1, 0, 0, 1, 1, 0], mask);
    }

    [Fact]
    public void BadShapes_AreRejected()
    {
        TokenizedBatch batch = Sample();
        Assert.Throws<ArgumentOutOfRangeException>(() => batch.ToPadded(2));
        Assert.Throws<ArgumentException>(() => batch.CopyPadded(3, new int[8], new int[9]));
        Assert.Throws<ArgumentException>(() => batch.CopyPadded(3, new int[9], new int[9], new int[1]));

        Assert.Throws<ArgumentNullException>(() => new TokenizedBatch(null!, [0], [], 0));
        Assert.Throws<ArgumentException>(() => new TokenizedBatch([], [0], [], 0));                 // no sequence
        Assert.Throws<ArgumentException>(() => new TokenizedBatch([1, 2], [0, 1], [1], 0));         // last offset != length
        Assert.Throws<ArgumentException>(() => new TokenizedBatch([1, 2], [0, 2, 1, 2], [2, 0, 1], 0)); // decreasing
        Assert.Throws<ArgumentException>(() => new TokenizedBatch([1, 2], [0, 2], [1], 0));         // original < length
        Assert.Throws<ArgumentException>(() => new TokenizedBatch([1, 2], [0, 2], [2, 2], 0));      // count mismatch
        Assert.Throws<ArgumentException>(() => new TokenizedBatch([1, 2], [0, 2], [2], 0, [0]));    // types length
    }
}
