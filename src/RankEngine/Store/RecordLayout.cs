using System.Buffers.Binary;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace RankEngine.Store;

/// <summary>
/// The binary value layout shared by items and users (version 1, little-endian; see Store/FORMAT.md). A fixed
/// 16-byte header, then one u32 offset per vector slot (0 = absent), then the vector data at 4-byte-aligned offsets.
/// Readers find a vector in O(1) from its slot, which is what <see cref="RankStore.ReadMany"/> relies on.
/// </summary>
internal static class RecordLayout
{
    public const byte Version = 1;
    public const int HeaderBytes = 16;

    // Header offsets.
    public const int VersionOffset = 0;
    public const int KindOffset = 1;
    public const int SlotCountOffset = 2;
    public const int Word1Offset = 4;   // item: fields offset; user: bucket
    public const int Word2Offset = 8;   // item: text offset; user: events offset
    public const int SlotTableOffset = HeaderBytes;

    public const uint NoText = uint.MaxValue;

    public static int Align4(int n) => (n + 3) & ~3;

    /// <summary>Byte offset of a slot's vector data, or 0 when the record has no vector in that slot.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe int VectorOffset(byte* value, int valueLength, int slot)
    {
        int slotCount = Unsafe.ReadUnaligned<ushort>(value + SlotCountOffset);
        if ((uint)slot >= (uint)slotCount)
            return 0;
        return (int)Unsafe.ReadUnaligned<uint>(value + SlotTableOffset + 4 * slot);
    }

    /// <summary>Copies a stored vector into <paramref name="destination"/> as fp32 (converting from fp16 when stored so).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void CopyVector(byte* source, int dimension, VectorElementType type, float* destination)
    {
        if (type == VectorElementType.Float32)
            Buffer.MemoryCopy(source, destination, (long)dimension * 4, (long)dimension * 4);
        else
            TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(source, dimension), new Span<float>(destination, dimension));
    }

    /// <summary>Bytes the vector section takes for the given vectors (slot table plus aligned data).</summary>
    public static int MeasureVectors(StoreSchema schema, Dictionary<string, float[]> vectors)
    {
        int bytes = 4 * schema.Count;
        foreach (var (name, _) in vectors)
            bytes += Align4(schema.Vectors[schema.GetSlot(name)].StoredBytes);
        return bytes;
    }

    /// <summary>Writes the slot table and vector data starting at <see cref="SlotTableOffset"/>; returns the offset after them.</summary>
    public static int WriteVectors(Span<byte> value, StoreSchema schema, Dictionary<string, float[]> vectors)
    {
        int pos = SlotTableOffset + 4 * schema.Count;
        value[SlotTableOffset..pos].Clear();
        // Slot order, not dictionary order, so equal records encode to equal bytes.
        for (int slot = 0; slot < schema.Count; slot++)
        {
            var spec = schema.Vectors[slot];
            if (!vectors.TryGetValue(spec.Name, out var data))
                continue;
            BinaryPrimitives.WriteUInt32LittleEndian(value[(SlotTableOffset + 4 * slot)..], (uint)pos);
            if (spec.ElementType == VectorElementType.Float32)
                MemoryMarshal.AsBytes(data.AsSpan()).CopyTo(value[pos..]);
            else
                TensorPrimitives.ConvertToHalf(data, MemoryMarshal.Cast<byte, Half>(value.Slice(pos, spec.StoredBytes)));
            int stored = Align4(spec.StoredBytes);
            value.Slice(pos + spec.StoredBytes, stored - spec.StoredBytes).Clear();
            pos += stored;
        }
        return pos;
    }

    /// <summary>Reads every present vector of a record as fp32 arrays.</summary>
    public static void ReadVectors(ReadOnlySpan<byte> value, StoreSchema schema, Dictionary<string, float[]> into)
    {
        int slotCount = BinaryPrimitives.ReadUInt16LittleEndian(value[SlotCountOffset..]);
        for (int slot = 0; slot < slotCount && slot < schema.Count; slot++)
        {
            int offset = (int)BinaryPrimitives.ReadUInt32LittleEndian(value[(SlotTableOffset + 4 * slot)..]);
            if (offset == 0)
                continue;
            var spec = schema.Vectors[slot];
            var source = value.Slice(offset, spec.StoredBytes);
            var result = new float[spec.Dimension];
            if (spec.ElementType == VectorElementType.Float32)
                MemoryMarshal.Cast<byte, float>(source).CopyTo(result);
            else
                TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(source), result);
            into[spec.Name] = result;
        }
    }

    /// <summary>
    /// Checks named vectors against the schema: known name, exact dimension, finite values, and for fp16 vectors a
    /// magnitude of at most 65504 (larger values would become infinity).
    /// </summary>
    public static void ValidateVectors(string what, StoreSchema schema, Dictionary<string, float[]>? vectors)
    {
        if (vectors is null)
            throw new InvalidRecordException($"{what}: the vectors dictionary is null.");
        foreach (var (name, data) in vectors)
        {
            if (name is null || !schema.TryGetSlot(name, out int slot))
                throw new InvalidRecordException($"{what}: unknown vector name '{name}'; the schema declares {schema.Describe()}.");
            var spec = schema.Vectors[slot];
            if (data is null)
                throw new InvalidRecordException($"{what}: vector '{name}' is null.");
            if (data.Length != spec.Dimension)
                throw new InvalidRecordException($"{what}: vector '{name}' has {data.Length} values; the schema declares dimension {spec.Dimension}.");
            for (int i = 0; i < data.Length; i++)
            {
                float x = data[i];
                if (!float.IsFinite(x))
                    throw new InvalidRecordException($"{what}: vector '{name}' has a non-finite value ({x}) at index {i}; NaN and infinity are not allowed.");
                if (spec.ElementType == VectorElementType.Float16 && Math.Abs(x) > 65504f)
                    throw new InvalidRecordException($"{what}: vector '{name}' is fp16 but value {x} at index {i} exceeds the fp16 range (±65504).");
            }
        }
    }
}
