using System.Buffers.Binary;
using System.Text.Json;

namespace RankEngine.Model.Converters;

/// <summary>Element type of a weight as the TF.js manifest declares it (after dequantisation).</summary>
internal enum TfjsDType
{
    /// <summary>32-bit IEEE float; decoded into <see cref="TfjsTensor.Float32"/>.</summary>
    Float32,
    /// <summary>32-bit signed integer (shape constants of the graph); decoded into <see cref="TfjsTensor.Int32"/>.</summary>
    Int32,
    /// <summary>One byte per element, 0 or not; decoded into <see cref="TfjsTensor.Int32"/> as 0/1.</summary>
    Bool,
}

/// <summary>One decoded weight of a TF.js model: name, shape and values (row-major, TF layout as stored).</summary>
internal sealed class TfjsTensor
{
    internal TfjsTensor(string name, int[] shape, TfjsDType dtype, string? quantization, float[]? float32, int[]? int32)
    {
        Name = name;
        Shape = shape;
        DType = dtype;
        Quantization = quantization;
        Float32 = float32;
        Int32 = int32;
    }

    /// <summary>Weight name from the manifest (the TF graph node that consumes it).</summary>
    public string Name { get; }

    /// <summary>Dimensions, outermost first; empty for a scalar.</summary>
    public int[] Shape { get; }

    /// <summary>Declared element type.</summary>
    public TfjsDType DType { get; }

    /// <summary>Storage quantisation the values were decoded from ("uint8", "uint16", "float16"), or null.</summary>
    public string? Quantization { get; }

    /// <summary>Values of a <see cref="TfjsDType.Float32"/> weight, else null.</summary>
    public float[]? Float32 { get; }

    /// <summary>Values of an <see cref="TfjsDType.Int32"/> or <see cref="TfjsDType.Bool"/> weight, else null.</summary>
    public int[]? Int32 { get; }

    /// <summary>Number of elements (product of <see cref="Shape"/>; 1 for a scalar).</summary>
    public long ElementCount => Float32?.Length ?? Int32!.Length;

    /// <summary>The float values, or an exception naming the weight when it is not float32.</summary>
    /// <exception cref="InvalidDataException">The weight is not float32.</exception>
    public float[] RequireFloat32() =>
        Float32 ?? throw new InvalidDataException($"TF.js weight '{Name}' is {DType}, expected float32.");
}

/// <summary>
/// Reads the weights of a TF.js graph model: <c>model.json</c>'s <c>weightsManifest</c> and the binary shards it
/// lists, decoded exactly as TF.js' <c>io.decodeWeights</c> does (little-endian; uint8/uint16 affine quantisation
/// <c>q * scale + min</c> computed in double and rounded to float32, or rounded to the nearest int for int32 weights;
/// float16 quantisation).
/// </summary>
/// <remarks>
/// Within a group the shards are concatenated in the listed order and the weights follow each other without
/// padding. The reader is strict: a missing shard, a group whose bytes do not add up to its weights exactly, a
/// duplicated name, an unknown dtype or quantisation, or a negative dimension raise
/// <see cref="InvalidDataException"/> naming the file and weight, so that a truncated or tampered download is never
/// converted silently.
/// </remarks>
internal static class TfjsWeightsReader
{
    /// <summary>Largest element count accepted for one weight (2^31 - 1 minus array overhead).</summary>
    private const long MaxElements = int.MaxValue - 64;

    /// <summary>Reads every weight of the model whose <c>model.json</c> is at <paramref name="modelJsonPath"/>;
    /// shards are looked up next to it.</summary>
    /// <returns>Weights by name, in manifest order when enumerated.</returns>
    /// <exception cref="FileNotFoundException">model.json or a shard does not exist.</exception>
    /// <exception cref="InvalidDataException">The manifest or the shards are malformed.</exception>
    public static IReadOnlyDictionary<string, TfjsTensor> Read(string modelJsonPath)
    {
        ArgumentNullException.ThrowIfNull(modelJsonPath);
        if (!File.Exists(modelJsonPath))
            throw new FileNotFoundException($"TF.js model.json not found: {modelJsonPath}", modelJsonPath);
        string directory = Path.GetDirectoryName(Path.GetFullPath(modelJsonPath))!;
        using var stream = File.OpenRead(modelJsonPath);
        return Read(stream, shard => Path.Combine(directory, shard), modelJsonPath);
    }

    /// <summary>Reads the weights from a model.json stream; <paramref name="resolveShard"/> maps a manifest path to
    /// a file path.</summary>
    /// <exception cref="FileNotFoundException">A shard does not exist.</exception>
    /// <exception cref="InvalidDataException">The manifest or the shards are malformed.</exception>
    public static IReadOnlyDictionary<string, TfjsTensor> Read(Stream modelJson, Func<string, string> resolveShard, string sourceName = "model.json")
    {
        ArgumentNullException.ThrowIfNull(modelJson);
        ArgumentNullException.ThrowIfNull(resolveShard);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(modelJson);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{sourceName} is not valid JSON: {e.Message}", e);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("weightsManifest", out var manifest)
                || manifest.ValueKind != JsonValueKind.Array)
                throw new InvalidDataException($"{sourceName} has no weightsManifest array.");

            var result = new Dictionary<string, TfjsTensor>(StringComparer.Ordinal);
            int groupIndex = 0;
            foreach (var group in manifest.EnumerateArray())
            {
                ReadGroup(group, groupIndex++, resolveShard, sourceName, result);
            }
            return result;
        }
    }

    private static void ReadGroup(JsonElement group, int groupIndex, Func<string, string> resolveShard, string sourceName,
        Dictionary<string, TfjsTensor> result)
    {
        string where = $"{sourceName}: weightsManifest[{groupIndex}]";
        if (group.ValueKind != JsonValueKind.Object
            || !group.TryGetProperty("paths", out var paths) || paths.ValueKind != JsonValueKind.Array
            || !group.TryGetProperty("weights", out var weights) || weights.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"{where} needs 'paths' and 'weights' arrays.");

        byte[] data = ReadShards(paths, resolveShard, where);
        long offset = 0;
        foreach (var spec in weights.EnumerateArray())
        {
            var tensor = DecodeWeight(spec, data, ref offset, where);
            if (!result.TryAdd(tensor.Name, tensor))
                throw new InvalidDataException($"{where}: weight '{tensor.Name}' appears twice.");
        }
        if (offset != data.Length)
            throw new InvalidDataException(
                $"{where}: the weights use {offset} bytes but the shards hold {data.Length}; the shards do not belong to this manifest.");
    }

    private static byte[] ReadShards(JsonElement paths, Func<string, string> resolveShard, string where)
    {
        var files = new List<string>();
        long total = 0;
        foreach (var p in paths.EnumerateArray())
        {
            string name = p.ValueKind == JsonValueKind.String ? p.GetString()! : throw new InvalidDataException($"{where}: a shard path is not a string.");
            if (name.Length == 0 || Path.IsPathRooted(name) || name.Contains("..", StringComparison.Ordinal))
                throw new InvalidDataException($"{where}: shard path '{name}' must be a plain relative file name.");
            string file = resolveShard(name);
            if (!File.Exists(file))
                throw new FileNotFoundException($"{where}: shard '{name}' not found at {file}.", file);
            total += new FileInfo(file).Length;
            files.Add(file);
        }
        if (total > Array.MaxLength)
            throw new InvalidDataException($"{where}: the shards hold {total} bytes, more than one group can have.");
        var data = new byte[total];
        int at = 0;
        foreach (var file in files)
        {
            using var s = File.OpenRead(file);
            s.ReadExactly(data, at, (int)s.Length);
            at += (int)s.Length;
        }
        return data;
    }

    private static TfjsTensor DecodeWeight(JsonElement spec, byte[] data, ref long offset, string where)
    {
        if (spec.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{where}: a weight entry is not an object.");
        string name = spec.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String && n.GetString()!.Length > 0
            ? n.GetString()! : throw new InvalidDataException($"{where}: a weight has no name.");
        string at = $"{where}, weight '{name}'";
        int[] shape = ReadShape(spec, at, out long count);
        string dtypeText = spec.TryGetProperty("dtype", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString()! : "";
        TfjsDType dtype = dtypeText switch
        {
            "float32" => TfjsDType.Float32,
            "int32" => TfjsDType.Int32,
            "bool" => TfjsDType.Bool,
            _ => throw new InvalidDataException($"{at}: dtype '{dtypeText}' is not supported (float32, int32, bool)."),
        };

        if (spec.TryGetProperty("quantization", out var q) && q.ValueKind != JsonValueKind.Null)
            return DecodeQuantized(q, name, shape, count, dtype, data, ref offset, at);

        int size = dtype == TfjsDType.Bool ? 1 : 4;
        var bytes = Slice(data, ref offset, count * size, at);
        switch (dtype)
        {
            case TfjsDType.Float32:
            {
                var values = new float[count];
                for (int i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.Slice(4 * i));
                return new TfjsTensor(name, shape, dtype, null, values, null);
            }
            case TfjsDType.Int32:
            {
                var values = new int[count];
                for (int i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadInt32LittleEndian(bytes.Slice(4 * i));
                return new TfjsTensor(name, shape, dtype, null, null, values);
            }
            default:
            {
                var values = new int[count];
                for (int i = 0; i < values.Length; i++) values[i] = bytes[i] != 0 ? 1 : 0;
                return new TfjsTensor(name, shape, dtype, null, null, values);
            }
        }
    }

    private static TfjsTensor DecodeQuantized(JsonElement q, string name, int[] shape, long count, TfjsDType dtype, byte[] data,
        ref long offset, string at)
    {
        string qtype = q.ValueKind == JsonValueKind.Object && q.TryGetProperty("dtype", out var qt) && qt.ValueKind == JsonValueKind.String
            ? qt.GetString()! : throw new InvalidDataException($"{at}: quantization has no dtype.");
        switch (qtype)
        {
            case "uint8":
            case "uint16":
            {
                if (!q.TryGetProperty("scale", out var sc) || sc.ValueKind != JsonValueKind.Number
                    || !q.TryGetProperty("min", out var mn) || mn.ValueKind != JsonValueKind.Number)
                    throw new InvalidDataException($"{at}: {qtype} quantization needs numeric 'min' and 'scale'.");
                double scale = sc.GetDouble(), min = mn.GetDouble();
                int size = qtype == "uint8" ? 1 : 2;
                var bytes = Slice(data, ref offset, count * size, at);
                if (dtype == TfjsDType.Float32)
                {
                    var values = new float[count];
                    for (int i = 0; i < values.Length; i++)
                        values[i] = (float)(Quantum(bytes, i, size) * scale + min);
                    return new TfjsTensor(name, shape, dtype, qtype, values, null);
                }
                if (dtype == TfjsDType.Int32)
                {
                    var values = new int[count];
                    for (int i = 0; i < values.Length; i++)
                        values[i] = (int)Math.Floor(Quantum(bytes, i, size) * scale + min + 0.5); // JavaScript Math.round
                    return new TfjsTensor(name, shape, dtype, qtype, null, values);
                }
                throw new InvalidDataException($"{at}: {qtype} quantization of a {dtype} weight is not supported.");
            }
            case "float16":
            {
                if (dtype != TfjsDType.Float32)
                    throw new InvalidDataException($"{at}: float16 quantization only applies to float32 weights, not {dtype}.");
                var bytes = Slice(data, ref offset, count * 2, at);
                var values = new float[count];
                for (int i = 0; i < values.Length; i++) values[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(bytes.Slice(2 * i));
                return new TfjsTensor(name, shape, dtype, qtype, values, null);
            }
            default:
                throw new InvalidDataException($"{at}: quantization dtype '{qtype}' is not supported (uint8, uint16, float16).");
        }
    }

    private static int Quantum(ReadOnlySpan<byte> bytes, int i, int size) =>
        size == 1 ? bytes[i] : BinaryPrimitives.ReadUInt16LittleEndian(bytes.Slice(2 * i));

    private static int[] ReadShape(JsonElement spec, string at, out long count)
    {
        if (!spec.TryGetProperty("shape", out var s) || s.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"{at}: no shape array.");
        var shape = new int[s.GetArrayLength()];
        count = 1;
        int i = 0;
        foreach (var dim in s.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt32(out int v) || v < 0)
                throw new InvalidDataException($"{at}: dimension {i} is not a non-negative integer.");
            shape[i++] = v;
            count *= v;
            if (count > MaxElements) throw new InvalidDataException($"{at}: more than {MaxElements} elements.");
        }
        return shape;
    }

    private static ReadOnlySpan<byte> Slice(byte[] data, ref long offset, long length, string at)
    {
        if (offset + length > data.Length)
            throw new InvalidDataException($"{at}: needs bytes {offset}..{offset + length} but the shards end at {data.Length} (truncated?).");
        var span = data.AsSpan((int)offset, (int)length);
        offset += length;
        return span;
    }
}
