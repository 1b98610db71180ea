using System.Buffers.Binary;
using System.IO.Hashing;
using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace RankEngine.Model;

/// <summary>
/// A memory-mapped, validated weight file. Opening checks the magic, version, header checksum, every tensor's bounds,
/// alignment, size-for-shape and data checksum; any problem throws <see cref="InvalidModelException"/> naming the
/// tensor. Tensor views stay valid until the file is disposed.
/// </summary>
internal sealed unsafe class WeightFile : IDisposable
{
    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _base;
    private readonly long _length;
    private readonly Dictionary<string, TensorView> _tensors = new(StringComparer.Ordinal);
    private bool _disposed;

    /// <summary>The model architecture stored in the header.</summary>
    public ModelConfig Config { get; }
    /// <summary>Provenance stored in the header.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }
    /// <summary>Path the file was opened from.</summary>
    public string Path { get; }
    /// <summary>Tensor names in file order.</summary>
    public IReadOnlyList<string> TensorNames { get; }

    /// <summary>
    /// Identity of the model: the header's XxHash64 (the header holds every tensor's checksum, so two files share it
    /// only if config and all tensors are equal). Stored by data directories to detect a model swap.
    /// </summary>
    public string Identity { get; private set; } = "";

    private WeightFile(string path, MemoryMappedFile map, MemoryMappedViewAccessor view, byte* basePtr, long length)
    {
        Path = path;
        _map = map;
        _view = view;
        _base = basePtr;
        _length = length;
        try
        {
            var header = ReadHeader();
            Config = header.Config ?? throw Invalid("header has no config");
            Config.Validate();
            Metadata = header.Metadata ?? new Dictionary<string, string>();
            var names = new List<string>();
            foreach (var entry in header.Tensors ?? new List<TensorEntry>())
            {
                var tensor = ValidateTensor(entry);
                if (!_tensors.TryAdd(entry.Name, tensor)) throw Invalid($"tensor '{entry.Name}' appears twice in the index");
                names.Add(entry.Name);
            }
            TensorNames = names;
        }
        catch
        {
            Release();
            throw;
        }
    }

    /// <summary>Maps and validates a weight file.</summary>
    /// <exception cref="InvalidModelException">The file is not a valid RankEngine weight file.</exception>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    public static WeightFile Open(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"model file '{path}' does not exist", path);
        long length = info.Length;
        if (length < WeightFileFormat.PrefixSize)
            throw new InvalidModelException($"model file '{path}': {length} bytes is too short to be a RankEngine weight file (truncated?)");
        var map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, mapName: null, capacity: 0, MemoryMappedFileAccess.Read);
        var view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        byte* ptr = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref ptr);
        ptr += view.PointerOffset;
        return new WeightFile(path, map, view, ptr, length);
    }

    /// <summary>True when the file holds a tensor of this name.</summary>
    public bool Contains(string name) => _tensors.ContainsKey(name);

    /// <summary>The tensor, or an <see cref="InvalidModelException"/> naming the missing tensor.</summary>
    public TensorView Get(string name)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _tensors.TryGetValue(name, out var t) ? t : throw Invalid($"required tensor '{name}' is missing");
    }

    /// <summary>The tensor if present.</summary>
    public bool TryGet(string name, out TensorView tensor)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _tensors.TryGetValue(name, out tensor!);
    }

    /// <summary>A tensor whose shape must equal <paramref name="expected"/>; the error names tensor, found and expected shapes.</summary>
    public TensorView Get(string name, params long[] expected)
    {
        var t = Get(name);
        if (!t.Shape.AsSpan().SequenceEqual(expected))
            throw Invalid($"tensor '{name}' has shape [{string.Join(", ", t.Shape)}] but the config requires [{string.Join(", ", expected)}]");
        return t;
    }

    private WeightFileHeader ReadHeader()
    {
        var prefix = new ReadOnlySpan<byte>(_base, WeightFileFormat.PrefixSize);
        if (!prefix[..8].SequenceEqual(WeightFileFormat.Magic))
            throw Invalid("bad magic: not a RankEngine weight file");
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(prefix[8..]);
        if (version != WeightFileFormat.Version)
            throw Invalid($"format version {version} is not supported (this build reads version {WeightFileFormat.Version})");
        uint headerLength = BinaryPrimitives.ReadUInt32LittleEndian(prefix[12..]);
        if (headerLength == 0 || headerLength > WeightFileFormat.MaxHeaderBytes || WeightFileFormat.PrefixSize + (long)headerLength > _length)
            throw Invalid($"header length {headerLength} does not fit in the file's {_length} bytes (truncated?)");
        var headerBytes = new ReadOnlySpan<byte>(_base + WeightFileFormat.PrefixSize, (int)headerLength);
        ulong expected = BinaryPrimitives.ReadUInt64LittleEndian(prefix[16..]);
        if (XxHash64.HashToUInt64(headerBytes) != expected)
            throw Invalid("header checksum mismatch: the header was modified or corrupted");
        Identity = expected.ToString("x16");
        try
        {
            return JsonSerializer.Deserialize(headerBytes, ModelJsonContext.Default.WeightFileHeader) ?? throw Invalid("empty header");
        }
        catch (JsonException e)
        {
            throw new InvalidModelException($"model file '{Path}': malformed header JSON: {e.Message}", e);
        }
    }

    private TensorView ValidateTensor(TensorEntry entry)
    {
        string name = string.IsNullOrEmpty(entry.Name) ? throw Invalid("a tensor entry has no name") : entry.Name;
        if (!WeightFileFormat.TryFromWire(entry.Type, out var type))
            throw Invalid($"tensor '{name}' has unknown type '{entry.Type}'");
        if (entry.Shape is null || entry.Shape.Length == 0)
            throw Invalid($"tensor '{name}' has no shape");
        foreach (long d in entry.Shape)
            if (d <= 0) throw Invalid($"tensor '{name}' has non-positive dimension {d} in shape [{string.Join(", ", entry.Shape)}]");
        long expectedLength;
        try { expectedLength = WeightFileFormat.ByteLength(type, entry.Shape); }
        catch (OverflowException) { throw Invalid($"tensor '{name}' shape [{string.Join(", ", entry.Shape)}] overflows"); }
        if (entry.Length != expectedLength)
            throw Invalid($"tensor '{name}' stores {entry.Length} bytes but type {entry.Type} with shape [{string.Join(", ", entry.Shape)}] needs {expectedLength}");
        if (entry.Offset % WeightFileFormat.Alignment != 0)
            throw Invalid($"tensor '{name}' offset {entry.Offset} is not {WeightFileFormat.Alignment}-byte aligned");
        if (entry.Offset < WeightFileFormat.PrefixSize || entry.Offset > _length || entry.Length > _length - entry.Offset)
            throw Invalid($"tensor '{name}' spans bytes {entry.Offset}..{entry.Offset + entry.Length} but the file has {_length} bytes (truncated?)");
        var data = new ReadOnlySpan<byte>(_base + entry.Offset, checked((int)entry.Length));
        string actual = XxHash64.HashToUInt64(data).ToString("x16");
        if (!string.Equals(actual, entry.Checksum, StringComparison.OrdinalIgnoreCase))
            throw Invalid($"tensor '{name}' checksum mismatch (stored {entry.Checksum}, computed {actual}): the data was modified or corrupted");
        return new TensorView(name, type, entry.Shape, _base + entry.Offset, entry.Length);
    }

    private InvalidModelException Invalid(string message) => new($"model file '{Path}': {message}");

    private void Release()
    {
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _map.Dispose();
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Release();
    }
}

/// <summary>
/// A tensor inside a mapped weight file: type, shape and raw bytes. Valid while its <see cref="WeightFile"/> is open.
/// </summary>
internal sealed unsafe class TensorView
{
    private readonly byte* _data;

    public string Name { get; }
    public TensorType Type { get; }
    public long[] Shape { get; }
    /// <summary>Byte length in the file.</summary>
    public long ByteLength { get; }
    /// <summary>Number of logical elements.</summary>
    public long ElementCount { get; }
    /// <summary>All dimensions but the last (1 for a vector).</summary>
    public int Rows => (int)WeightFileFormat.Rows(Shape);
    /// <summary>The last dimension.</summary>
    public int Columns => (int)Shape[^1];

    internal TensorView(string name, TensorType type, long[] shape, byte* data, long byteLength)
    {
        Name = name;
        Type = type;
        Shape = shape;
        _data = data;
        ByteLength = byteLength;
        long count = 1;
        foreach (long d in shape) count *= d;
        ElementCount = count;
    }

    /// <summary>The stored bytes.</summary>
    public ReadOnlySpan<byte> Bytes => new(_data, checked((int)ByteLength));

    /// <summary>Decodes (dequantises) the tensor into float32.</summary>
    public float[] ToFloat32()
    {
        var result = new float[ElementCount];
        CopyTo(result);
        return result;
    }

    /// <summary>Decodes (dequantises) into <paramref name="destination"/>, which must hold <see cref="ElementCount"/> floats.</summary>
    public void CopyTo(Span<float> destination)
    {
        if (destination.Length != ElementCount)
            throw new ArgumentException($"tensor '{Name}' has {ElementCount} elements, destination holds {destination.Length}");
        switch (Type)
        {
            case TensorType.F32:
                MemoryMarshal.Cast<byte, float>(Bytes).CopyTo(destination);
                break;
            case TensorType.F16:
                System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(Bytes), destination);
                break;
            case TensorType.I8:
            {
                int rows = Rows, cols = Columns;
                var q = Int8Values;
                var scales = Int8Scales;
                for (int r = 0; r < rows; r++)
                {
                    float s = scales[r];
                    for (int c = 0; c < cols; c++) destination[r * cols + c] = q[r * cols + c] * s;
                }
                break;
            }
            default:
                throw new InvalidModelException($"tensor '{Name}' is a {WeightFileFormat.ToWire(Type)} blob, not a numeric tensor");
        }
    }

    /// <summary>The values of an <see cref="TensorType.I8"/> tensor as stored (rows · columns, row-major).</summary>
    public ReadOnlySpan<sbyte> Int8Values => MemoryMarshal.Cast<byte, sbyte>(Int8Bytes()[..checked((int)ElementCount)]);

    /// <summary>The per-row scales of an <see cref="TensorType.I8"/> tensor: at the next 4-byte boundary after the values.</summary>
    public ReadOnlySpan<float> Int8Scales =>
        MemoryMarshal.Cast<byte, float>(Int8Bytes().Slice(checked((int)WeightFileFormat.AlignUp(ElementCount, 4)), 4 * Rows));

    private ReadOnlySpan<byte> Int8Bytes()
    {
        if (Type != TensorType.I8) throw new ArgumentException($"tensor '{Name}' is {WeightFileFormat.ToWire(Type)}, not i8");
        if (ByteLength < WeightFileFormat.ByteLength(TensorType.I8, Shape))
            throw new ArgumentException($"tensor '{Name}' holds {ByteLength} bytes, too few for a {Rows}×{Columns} i8 tensor");
        return Bytes;
    }

    /// <summary>The raw bytes of a <see cref="TensorType.U8"/> blob, copied.</summary>
    public byte[] ToBlob()
    {
        if (Type != TensorType.U8) throw new InvalidModelException($"tensor '{Name}' is numeric, not a byte blob");
        return Bytes.ToArray();
    }
}
