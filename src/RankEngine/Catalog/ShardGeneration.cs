using System.Collections.Concurrent;
using RankEngine.Store;

namespace RankEngine.Catalog;

/// <summary>
/// The row storage of one shard between two compactions: append-only arrays of ids, vectors (one dense fp32 matrix
/// per schema vector), field columns and each row's visibility interval <c>[Born, Died)</c> in shard versions.
/// </summary>
/// <remarks>
/// A row is written once, before any version that shows it is published, and then only its <c>Died</c> entry
/// changes (once, from <see cref="long.MaxValue"/> to the version that removed it). So a reader holding version V
/// reads every row below its row count without a lock: row r is visible at V when <c>Born[r] ≤ V &lt; Died[r]</c>.
/// Growing copies the arrays into larger ones; readers keep the arrays their version captured, which hold the same
/// first rows. A compaction starts a new generation and leaves this one to the readers that still hold it.
/// </remarks>
internal sealed class ShardGeneration
{
    public readonly StoreSchema Schema;
    public readonly int Number;
    public readonly FieldColumns Columns;
    /// <summary>The newest row of every id this generation has seen (dead rows stay, for older versions).</summary>
    public readonly ConcurrentDictionary<string, int> NewestRow = new(StringComparer.Ordinal);

    public string?[] Ids;
    public long[] Born;
    public long[] Died;
    /// <summary>The same id's previous row, or −1: older versions walk back to the row they saw.</summary>
    public int[] Previous;
    public float[][] Vectors;
    public ulong[][] Present;
    public int Capacity;
    public int RowCount;
    /// <summary>The int8 copy of one vector's rows (per-row scale, row sums), or null: a quantised first pass for scans.</summary>
    public readonly Int8Matrix? Quantized;

    public ShardGeneration(StoreSchema schema, int number, int capacity, int quantizedSlot = -1)
    {
        Schema = schema;
        Number = number;
        Capacity = RoundUp64(Math.Max(64, capacity));
        Ids = new string?[Capacity];
        Born = new long[Capacity];
        Died = new long[Capacity];
        Previous = new int[Capacity];
        Vectors = new float[schema.Count][];
        Present = new ulong[schema.Count][];
        for (int s = 0; s < schema.Count; s++)
        {
            Vectors[s] = AllocateMatrix(schema.Vectors[s], Capacity);
            Present[s] = new ulong[Capacity / 64];
        }
        Columns = new FieldColumns(Capacity);
        if (quantizedSlot >= 0) Quantized = new Int8Matrix(quantizedSlot, schema.Vectors[quantizedSlot].Dimension, Capacity);
    }

    /// <summary>Writer only: makes room for one more row, copying into larger arrays when full.</summary>
    public void EnsureRoom(int rows)
    {
        if (rows <= Capacity) return;
        int capacity = RoundUp64(Math.Max(rows, Capacity + Math.Max(1024, Capacity / 2)));
        Array.Resize(ref Ids, capacity);
        Array.Resize(ref Born, capacity);
        Array.Resize(ref Died, capacity);
        Array.Resize(ref Previous, capacity);
        var vectors = new float[Schema.Count][];
        var present = new ulong[Schema.Count][];
        for (int s = 0; s < Schema.Count; s++)
        {
            vectors[s] = AllocateMatrix(Schema.Vectors[s], capacity);
            Vectors[s].AsSpan(0, RowCount * Schema.Vectors[s].Dimension).CopyTo(vectors[s]);
            present[s] = new ulong[capacity / 64];
            Present[s].CopyTo(present[s], 0);
        }
        Vectors = vectors;
        Present = present;
        Columns.Grow(capacity);
        Quantized?.Grow(capacity, RowCount);
        Capacity = capacity;
    }

    private static float[] AllocateMatrix(VectorSpec spec, int capacity)
    {
        long elements = (long)capacity * spec.Dimension;
        if (elements > Array.MaxLength)
            throw new InvalidOperationException($"A catalog shard's '{spec.Name}' matrix would need {elements} values, more than one array holds; use more catalog shards (StoreOptions.CatalogShards).");
        // Pinned: scorers read it through a pointer and device uploads copy from it without a GC move in between.
        return GC.AllocateArray<float>((int)elements, pinned: true);
    }

    private static int RoundUp64(int n) => (n + 63) & ~63;
}

/// <summary>
/// Rows of one vector quantised to int8 (<c>x ≈ Scale[r] · q</c>, stride a multiple of 64 bytes, zero padded) with each
/// row's sum of q, for <see cref="RankEngine.Compute.Simd.Int8Dots"/>. Append-only like the rest of the generation.
/// </summary>
internal sealed class Int8Matrix
{
    public readonly int Slot, Dimension, Stride;
    public sbyte[] Values;
    public float[] Scales;
    public int[] Sums;

    public Int8Matrix(int slot, int dimension, int capacity)
    {
        Slot = slot;
        Dimension = dimension;
        Stride = RankEngine.Compute.Simd.Int8Dots.Stride(dimension);
        Values = GC.AllocateArray<sbyte>(checked(capacity * Stride), pinned: true);
        Scales = new float[capacity];
        Sums = new int[capacity];
    }

    public void Write(int row, ReadOnlySpan<float> vector)
    {
        var (scale, sum) = RankEngine.Compute.Simd.Int8Dots.QuantizeRow(vector, Values.AsSpan(row * Stride, Stride));
        Scales[row] = scale;
        Sums[row] = sum;
    }

    public void Grow(int capacity, int rows)
    {
        var values = GC.AllocateArray<sbyte>(checked(capacity * Stride), pinned: true);
        Values.AsSpan(0, rows * Stride).CopyTo(values);
        Values = values;
        Array.Resize(ref Scales, capacity);
        Array.Resize(ref Sums, capacity);
    }
}
