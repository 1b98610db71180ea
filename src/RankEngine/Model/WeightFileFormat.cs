using System.Text.Json.Serialization;

namespace RankEngine.Model;

/// <summary>
/// Element type of a stored tensor. The string forms ("f32", "f16", "i8", "u8") are persisted in weight files:
/// append new values, never rename.
/// </summary>
internal enum TensorType
{
    /// <summary>IEEE float32.</summary>
    F32,
    /// <summary>IEEE float16.</summary>
    F16,
    /// <summary>
    /// int8 with one float32 scale per row: the <c>rows*cols</c> bytes are followed, at the next 4-byte boundary,
    /// by <c>rows</c> float32 scales; value = q * scale[row]. A 1-D tensor is one row.
    /// </summary>
    I8,
    /// <summary>Raw bytes (e.g. a tokenizer vocabulary file), not a numeric tensor.</summary>
    U8,
}

/// <summary>
/// Layout of the RankEngine weight file (<c>.rem</c>), format version 1.
/// <code>
/// offset  size  field
///      0     8  magic "RKENGWT1"
///      8     4  format version (uint32 little-endian) = 1
///     12     4  header length H in bytes (uint32)
///     16     8  XxHash64 of the header bytes (uint64)
///     24     H  header: UTF-8 JSON { "config": {...}, "tensors": [...], "metadata": {...} }
///      …        zero padding; every tensor starts at a multiple of 64 bytes from the file start
/// </code>
/// Each tensor entry gives name, type, shape, absolute offset, byte length and the XxHash64 of its bytes (hex).
/// </summary>
internal static class WeightFileFormat
{
    /// <summary>The 8 magic bytes at offset 0.</summary>
    public static ReadOnlySpan<byte> Magic => "RKENGWT1"u8;
    /// <summary>The only version this build reads and writes.</summary>
    public const uint Version = 1;
    /// <summary>Size of the fixed prefix before the JSON header.</summary>
    public const int PrefixSize = 24;
    /// <summary>Alignment of every tensor's data.</summary>
    public const int Alignment = 64;
    /// <summary>Refuse headers larger than this (a corrupted length field must not allocate gigabytes).</summary>
    public const int MaxHeaderBytes = 64 << 20;

    /// <summary>Persisted spelling of a tensor type.</summary>
    public static string ToWire(TensorType type) => type switch
    {
        TensorType.F32 => "f32",
        TensorType.F16 => "f16",
        TensorType.I8 => "i8",
        TensorType.U8 => "u8",
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>Parses a persisted tensor type; false for unknown spellings.</summary>
    public static bool TryFromWire(string? wire, out TensorType type)
    {
        switch (wire)
        {
            case "f32": type = TensorType.F32; return true;
            case "f16": type = TensorType.F16; return true;
            case "i8": type = TensorType.I8; return true;
            case "u8": type = TensorType.U8; return true;
            default: type = default; return false;
        }
    }

    /// <summary>Bytes a tensor of this type and shape occupies in the file.</summary>
    public static long ByteLength(TensorType type, ReadOnlySpan<long> shape)
    {
        long count = 1;
        foreach (long d in shape) count = checked(count * d);
        return type switch
        {
            TensorType.F32 => count * 4,
            TensorType.F16 => count * 2,
            TensorType.I8 => AlignUp(count, 4) + 4 * Rows(shape),
            TensorType.U8 => count,
            _ => throw new ArgumentOutOfRangeException(nameof(type)),
        };
    }

    /// <summary>Rows of a tensor for per-row quantisation: all dimensions but the last (1 for a vector).</summary>
    public static long Rows(ReadOnlySpan<long> shape)
    {
        long rows = 1;
        for (int i = 0; i < shape.Length - 1; i++) rows *= shape[i];
        return rows;
    }

    internal static long AlignUp(long value, long alignment) => (value + alignment - 1) / alignment * alignment;
}

/// <summary>JSON header of a weight file.</summary>
internal sealed class WeightFileHeader
{
    public ModelConfig Config { get; set; } = new();
    public List<TensorEntry> Tensors { get; set; } = new();
    /// <summary>Provenance: converter, source, licence. Informational.</summary>
    public Dictionary<string, string> Metadata { get; set; } = new();
}

/// <summary>One tensor's entry in the header index.</summary>
internal sealed class TensorEntry
{
    public string Name { get; set; } = "";
    /// <summary>"f32", "f16", "i8" or "u8".</summary>
    public string Type { get; set; } = "";
    public long[] Shape { get; set; } = Array.Empty<long>();
    /// <summary>Absolute byte offset of the data in the file.</summary>
    public long Offset { get; set; }
    public long Length { get; set; }
    /// <summary>XxHash64 of the data bytes, 16 lower-case hex digits.</summary>
    public string Checksum { get; set; } = "";
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = false,
    UseStringEnumConverter = true, DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(WeightFileHeader))]
[JsonSerializable(typeof(ModelConfig))]
internal sealed partial class ModelJsonContext : JsonSerializerContext
{
}
