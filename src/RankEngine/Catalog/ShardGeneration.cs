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
    /// <summary>The int8 or fp16 copy of one vector's rows, or null: a quantised first pass for scans.</summary>
    public readonly QuantizedCopy? Quantized;

    public ShardGeneration(StoreSchema schema, int number, int capacity, int quantizedSlot = -1, CatalogQuantization format = CatalogQuantization.Int8)
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
        if (quantizedSlot >= 0) Quantized = QuantizedCopy.Create(format, quantizedSlot, schema.Vectors[quantizedSlot].Dimension, Capacity);
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
/// A reduced-precision copy of one vector's rows, row-aligned with the generation's fp32 matrix and append-only like
/// it: written with each row (appends, compaction, the replay at open), grown with the other arrays.
/// </summary>
internal abstract class QuantizedCopy
{
    public readonly int Slot, Dimension;

    protected QuantizedCopy(int slot, int dimension)
    {
        Slot = slot;
        Dimension = dimension;
    }

    /// <summary>Int8 or Fp16.</summary>
    public abstract CatalogQuantization Format { get; }

    /// <summary>Writes row <paramref name="row"/> from its fp32 values.</summary>
    public abstract void Write(int row, ReadOnlySpan<float> vector);

    /// <summary>Copies the first <paramref name="rows"/> rows into arrays of <paramref name="capacity"/> rows.</summary>
    public abstract void Grow(int capacity, int rows);

    public static QuantizedCopy Create(CatalogQuantization format, int slot, int dimension, int capacity) => format switch
    {
        CatalogQuantization.Int8 => new Int8Matrix(slot, dimension, capacity),
        CatalogQuantization.Fp16 => new HalfMatrix(slot, dimension, capacity),
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "a quantised copy is Int8 or Fp16"),
    };
}

/// <summary>
/// Rows of one vector quantised to int8 (<c>x ≈ Scale[r] · q</c>, stride a multiple of 64 bytes, zero padded) with each
/// row's sum of q, for <see cref="RankEngine.Compute.Simd.Int8Dots"/>. Append-only like the rest of the generation.
/// </summary>
internal sealed class Int8Matrix : QuantizedCopy
{
    public readonly int Stride;
    public sbyte[] Values;
    public float[] Scales;
    public int[] Sums;

    public Int8Matrix(int slot, int dimension, int capacity) : base(slot, dimension)
    {
        Stride = RankEngine.Compute.Simd.Int8Dots.Stride(dimension);
        Values = GC.AllocateArray<sbyte>(checked(capacity * Stride), pinned: true);
        Scales = new float[capacity];
        Sums = new int[capacity];
    }

    public override CatalogQuantization Format => CatalogQuantization.Int8;

    public override void Write(int row, ReadOnlySpan<float> vector)
    {
        var (scale, sum) = RankEngine.Compute.Simd.Int8Dots.QuantizeRow(vector, Values.AsSpan(row * Stride, Stride));
        Scales[row] = scale;
        Sums[row] = sum;
    }

    public override void Grow(int capacity, int rows)
    {
        var values = GC.AllocateArray<sbyte>(checked(capacity * Stride), pinned: true);
        Values.AsSpan(0, rows * Stride).CopyTo(values);
        Values = values;
        Array.Resize(ref Scales, capacity);
        Array.Resize(ref Sums, capacity);
    }
}

/// <summary>
/// Rows of one vector as IEEE half floats, row-major, <see cref="QuantizedCopy.Dimension"/> apart: half the bytes of
/// the fp32 matrix, widened back to fp32 block by block in the scan (round-to-nearest-even on the way in).
/// </summary>
internal sealed class HalfMatrix : QuantizedCopy
{
    public Half[] Values;

    public HalfMatrix(int slot, int dimension, int capacity) : base(slot, dimension) =>
        Values = GC.AllocateArray<Half>(checked(capacity * dimension), pinned: true);

    public override CatalogQuantization Format => CatalogQuantization.Fp16;

    public override void Write(int row, ReadOnlySpan<float> vector) =>
        System.Numerics.Tensors.TensorPrimitives.ConvertToHalf(vector, Values.AsSpan(row * Dimension, Dimension));

    public override void Grow(int capacity, int rows)
    {
        var values = GC.AllocateArray<Half>(checked(capacity * Dimension), pinned: true);
        Values.AsSpan(0, rows * Dimension).CopyTo(values);
        Values = values;
    }
}
