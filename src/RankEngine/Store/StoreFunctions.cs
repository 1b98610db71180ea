using FASTER.core;

namespace RankEngine.Store;

/// <summary>What a read callback should do with the value it finds.</summary>
internal enum ReadMode : byte
{
    /// <summary>Only report whether the key exists (the status says it).</summary>
    Exists = 0,

    /// <summary>Copy the whole value into <see cref="StoreOutput.Value"/>.</summary>
    WholeValue = 1,

    /// <summary>Copy one vector slot, as fp32, to <see cref="StoreOutput.Destination"/> and set <see cref="StoreOutput.Found"/>.</summary>
    Vector = 2,
}

/// <summary>
/// Per-read output. For vector reads it carries raw pointers into the caller's pinned buffers, so a read that goes
/// pending (record on disk) writes straight into the caller's row when <c>CompletePending</c> runs it; the caller
/// keeps those buffers pinned until then.
/// </summary>
internal unsafe struct StoreOutput
{
    public ReadMode Mode;
    public VectorElementType ElementType;
    public int Slot;
    public int Dimension;
    public float* Destination;
    public bool* Found;
    public byte[]? Value;
}

/// <summary>
/// FASTER callbacks for the store. Writers, updaters and deleters come from <see cref="SpanByteFunctions{Key, Output, Context}"/>
/// (they copy whole values and keep the log scannable when a value shrinks in place); readers copy either the
/// whole value or a single vector. Both readers run under FASTER's record lock in the mutable region
/// (ConcurrentReader) or on an immutable record (SingleReader), so they never see a half-written value.
/// </summary>
internal sealed class StoreFunctions : SpanByteFunctions<SpanByte, StoreOutput, Empty>
{
    public static readonly StoreFunctions Instance = new();

    /// <summary>Called for records in the immutable region or read from disk. Returning true keeps the status Found.</summary>
    public override bool SingleReader(ref SpanByte key, ref SpanByte input, ref SpanByte value, ref StoreOutput dst, ref ReadInfo readInfo)
        => Read(ref value, ref dst);

    /// <summary>Called for records in the mutable region, under the record's shared lock.</summary>
    public override bool ConcurrentReader(ref SpanByte key, ref SpanByte input, ref SpanByte value, ref StoreOutput dst, ref ReadInfo readInfo)
        => Read(ref value, ref dst);

    private static unsafe bool Read(ref SpanByte value, ref StoreOutput dst)
    {
        switch (dst.Mode)
        {
            case ReadMode.Vector:
                byte* p = (byte*)value.ToPointer();
                int offset = RecordLayout.VectorOffset(p, value.Length, dst.Slot);
                if (offset != 0)
                {
                    RecordLayout.CopyVector(p + offset, dst.Dimension, dst.ElementType, dst.Destination);
                    *dst.Found = true;
                }
                return true;
            case ReadMode.WholeValue:
                dst.Value = value.ToByteArray();
                return true;
            default:
                return true;
        }
    }
}
