using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace RankEngine.Model;

/// <summary>
/// Builds a weight file: add tensors (fp32 data is converted to the requested storage type), then
/// <see cref="Write"/>. Holds the tensors in memory until written; the file is written to a temporary
/// name and renamed, so a crash never leaves a half-written model under the final name.
/// </summary>
internal sealed class WeightFileWriter
{
    private readonly ModelConfig _config;
    private readonly List<(TensorEntry Entry, byte[] Data)> _tensors = new();
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);

    /// <summary>Provenance written into the header.</summary>
    public Dictionary<string, string> Metadata { get; } = new();

    public WeightFileWriter(ModelConfig config)
    {
        config.Validate();
        _config = config;
    }

    /// <summary>Adds a float tensor stored as <paramref name="storage"/> (F32, F16 or per-row I8).</summary>
    public void Add(string name, ReadOnlySpan<float> values, long[] shape, TensorType storage = TensorType.F32)
    {
        long count = 1;
        foreach (long d in shape)
        {
            if (d <= 0) throw new ArgumentException($"tensor '{name}': dimension {d} must be positive", nameof(shape));
            count *= d;
        }
        if (count != values.Length)
            throw new ArgumentException($"tensor '{name}': shape [{string.Join(", ", shape)}] holds {count} values but {values.Length} were given");
        foreach (float v in values)
            if (!float.IsFinite(v)) throw new ArgumentException($"tensor '{name}': contains NaN or infinity");

        byte[] data = storage switch
        {
            TensorType.F32 => MemoryMarshal.AsBytes(values).ToArray(),
            TensorType.F16 => EncodeHalf(values),
            TensorType.I8 => QuantizeRows(values, shape),
            _ => throw new ArgumentException($"tensor '{name}': {storage} is not a float storage type"),
        };
        AddRaw(name, storage, shape, data);
    }

    /// <summary>Adds a raw byte blob (e.g. a tokenizer vocabulary).</summary>
    public void AddBlob(string name, byte[] bytes)
    {
        if (bytes.Length == 0) throw new ArgumentException($"blob '{name}' is empty");
        AddRaw(name, TensorType.U8, new long[] { bytes.Length }, bytes);
    }

    private void AddRaw(string name, TensorType type, long[] shape, byte[] data)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("tensor name must not be empty");
        if (!_names.Add(name)) throw new ArgumentException($"tensor '{name}' was added twice");
        var entry = new TensorEntry
        {
            Name = name,
            Type = WeightFileFormat.ToWire(type),
            Shape = (long[])shape.Clone(),
            Length = data.Length,
            Checksum = XxHash64.HashToUInt64(data).ToString("x16"),
        };
        _tensors.Add((entry, data));
    }

    /// <summary>Writes the file atomically (temporary file, flush to disk, rename).</summary>
    public void Write(string path)
    {
        // Offsets depend on the header length, which depends on the offsets' digits: iterate to a fixed point.
        long dataStart = 0;
        byte[] headerBytes;
        while (true)
        {
            long offset = WeightFileFormat.AlignUp(WeightFileFormat.PrefixSize + dataStart, WeightFileFormat.Alignment);
            foreach (var (entry, data) in _tensors)
            {
                entry.Offset = offset;
                offset = WeightFileFormat.AlignUp(offset + data.Length, WeightFileFormat.Alignment);
            }
            RecordQuantisation();
            var header = new WeightFileHeader { Config = _config, Tensors = _tensors.ConvertAll(t => t.Entry), Metadata = Metadata };
            headerBytes = JsonSerializer.SerializeToUtf8Bytes(header, ModelJsonContext.Default.WeightFileHeader);
            if (headerBytes.Length == dataStart) break;
            dataStart = headerBytes.Length;
        }

        string tmp = path + ".tmp";
        using (var stream = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            Span<byte> prefix = stackalloc byte[WeightFileFormat.PrefixSize];
            WeightFileFormat.Magic.CopyTo(prefix);
            BinaryPrimitives.WriteUInt32LittleEndian(prefix[8..], WeightFileFormat.Version);
            BinaryPrimitives.WriteUInt32LittleEndian(prefix[12..], (uint)headerBytes.Length);
            BinaryPrimitives.WriteUInt64LittleEndian(prefix[16..], XxHash64.HashToUInt64(headerBytes));
            stream.Write(prefix);
            stream.Write(headerBytes);
            foreach (var (entry, data) in _tensors)
            {
                Pad(stream, entry.Offset);
                stream.Write(data);
            }
            Pad(stream, WeightFileFormat.AlignUp(stream.Position, WeightFileFormat.Alignment));
            stream.Flush(flushToDisk: true);
        }
        File.Move(tmp, path, overwrite: true);
    }

    private static void Pad(Stream stream, long target)
    {
        while (stream.Position < target) stream.WriteByte(0);
    }

    private static byte[] EncodeHalf(ReadOnlySpan<float> values)
    {
        var data = new byte[values.Length * 2];
        var halves = MemoryMarshal.Cast<byte, Half>(data.AsSpan());
        for (int i = 0; i < values.Length; i++) halves[i] = (Half)values[i];
        return data;
    }

    private static byte[] QuantizeRows(ReadOnlySpan<float> values, long[] shape)
    {
        int rows = (int)WeightFileFormat.Rows(shape);
        int cols = values.Length / rows;
        long quantBytes = WeightFileFormat.AlignUp(values.Length, 4);
        var data = new byte[quantBytes + 4L * rows];
        var q = MemoryMarshal.Cast<byte, sbyte>(data.AsSpan(0, values.Length));
        var scales = MemoryMarshal.Cast<byte, float>(data.AsSpan((int)quantBytes));
        for (int r = 0; r < rows; r++)
        {
            var row = values.Slice(r * cols, cols);
            float maxAbs = 0;
            foreach (float v in row) maxAbs = MathF.Max(maxAbs, MathF.Abs(v));
            float scale = maxAbs > 0 ? maxAbs / 127f : 1f;
            scales[r] = scale;
            for (int c = 0; c < cols; c++)
                q[r * cols + c] = (sbyte)Math.Clamp((int)MathF.Round(row[c] / scale), -127, 127);
        }
        return data;
    }

    /// <summary>
    /// Says in the metadata how the quantised tensors were made (each tensor's entry already names its type), so a file
    /// explains itself to tools that do not know this build's rules.
    /// </summary>
    private void RecordQuantisation()
    {
        if (_tensors.Exists(t => t.Entry.Type == "i8"))
            Metadata["quantization.i8"] = "symmetric int8 per output row: scale = max|w| / 127, q = round-to-nearest-even(w / scale) " +
                "clamped to ±127; the float32 scales follow the values at the next 4-byte boundary";
        if (_tensors.Exists(t => t.Entry.Type == "f16"))
            Metadata["quantization.f16"] = "IEEE 754 binary16, round to nearest even";
    }

    /// <summary>Convenience for UTF-8 text blobs.</summary>
    public void AddTextBlob(string name, string text) => AddBlob(name, Encoding.UTF8.GetBytes(text));
}
