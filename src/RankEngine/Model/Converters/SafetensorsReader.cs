using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace RankEngine.Model.Converters;

/// <summary>
/// Reads Hugging Face safetensors files: an 8-byte little-endian header length, a JSON header mapping tensor names
/// to dtype, shape and data offsets, then the raw little-endian data. F32, F16 and BF16 are decoded to float32.
/// </summary>
internal sealed class SafetensorsReader
{
    private readonly Dictionary<string, (string DType, long[] Shape, long Begin, long End)> _index = new(StringComparer.Ordinal);
    private readonly string _path;
    private readonly long _dataStart;

    public IReadOnlyCollection<string> Names => _index.Keys;

    public SafetensorsReader(string path)
    {
        _path = path;
        using var stream = File.OpenRead(path);
        Span<byte> lengthBytes = stackalloc byte[8];
        if (stream.Read(lengthBytes) != 8) throw Invalid("file is shorter than its 8-byte header length");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength == 0 || headerLength > 100_000_000UL || (long)headerLength > stream.Length - 8)
            throw Invalid($"header length {headerLength} does not fit the {stream.Length}-byte file");
        var header = new byte[headerLength];
        stream.ReadExactly(header);
        _dataStart = 8 + (long)headerLength;
        long dataLength = stream.Length - _dataStart;
        using var doc = ParseHeader(header);
        foreach (var prop in doc.RootElement.EnumerateObject())
        {
            if (prop.Name == "__metadata__") continue;
            var v = prop.Value;
            string dtype = v.GetProperty("dtype").GetString() ?? "";
            var shape = v.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            var offsets = v.GetProperty("data_offsets");
            long begin = offsets[0].GetInt64(), end = offsets[1].GetInt64();
            if (begin < 0 || end < begin || end > dataLength)
                throw Invalid($"tensor '{prop.Name}' data offsets [{begin}, {end}] fall outside the {dataLength} data bytes (truncated?)");
            _index[prop.Name] = (dtype, shape, begin, end);
        }
    }

    private JsonDocument ParseHeader(byte[] header)
    {
        try { return JsonDocument.Parse(header); }
        catch (JsonException e) { throw new InvalidModelException($"safetensors file '{_path}': malformed header: {e.Message}", e); }
    }

    public bool Contains(string name) => _index.ContainsKey(name);

    public long[] Shape(string name) => Entry(name).Shape;

    /// <summary>Reads one tensor as float32.</summary>
    public float[] ReadFloat32(string name)
    {
        var (dtype, shape, begin, end) = Entry(name);
        long count = 1;
        foreach (long d in shape) count *= d;
        int elementSize = dtype switch { "F32" => 4, "F16" => 2, "BF16" => 2, _ => throw Invalid($"tensor '{name}' has unsupported dtype {dtype} (F32, F16, BF16 are supported)") };
        if (end - begin != count * elementSize)
            throw Invalid($"tensor '{name}': {end - begin} bytes do not match dtype {dtype} with shape [{string.Join(", ", shape)}]");
        var bytes = new byte[end - begin];
        using (var stream = File.OpenRead(_path))
        {
            stream.Position = _dataStart + begin;
            stream.ReadExactly(bytes);
        }
        var result = new float[count];
        switch (dtype)
        {
            case "F32":
                MemoryMarshal.Cast<byte, float>(bytes.AsSpan()).CopyTo(result);
                break;
            case "F16":
                System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(bytes.AsSpan()), result);
                break;
            case "BF16":
                var raw = MemoryMarshal.Cast<byte, ushort>(bytes.AsSpan());
                for (int i = 0; i < raw.Length; i++) result[i] = BitConverter.Int32BitsToSingle(raw[i] << 16);
                break;
        }
        foreach (float f in result)
            if (!float.IsFinite(f)) throw Invalid($"tensor '{name}' contains NaN or infinity");
        return result;
    }

    private (string DType, long[] Shape, long Begin, long End) Entry(string name) =>
        _index.TryGetValue(name, out var e) ? e : throw Invalid($"tensor '{name}' is missing");

    private InvalidModelException Invalid(string message) => new($"safetensors file '{_path}': {message}");
}
