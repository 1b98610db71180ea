using System.Buffers.Binary;
using System.Text;

namespace RankEngine.Store;

/// <summary>
/// The vector names a store holds, each with a fixed dimension and element type. The schema is written to the data
/// directory when a store is created; reopening with a different schema is refused with
/// <see cref="StoreSchemaMismatchException"/>. A vector's slot is its position in <see cref="Vectors"/>; the record
/// layout refers to vectors by slot.
/// </summary>
internal sealed class StoreSchema
{
    // schema.bin: "RKSC" magic, u16 format version, u16 vector count, then per vector: u8 name length, ASCII name,
    // u32 dimension, u8 element type. Little-endian. Append-only: a later version may only add trailing data.
    private static ReadOnlySpan<byte> Magic => "RKSC"u8;
    private const ushort FormatVersion = 1;

    private readonly VectorSpec[] _vectors;
    private readonly Dictionary<string, int> _slotByName;

    /// <summary>Creates a schema; throws <see cref="ArgumentException"/> on an empty list, a bad name, a duplicate or a bad dimension.</summary>
    public StoreSchema(IEnumerable<VectorSpec> vectors)
    {
        ArgumentNullException.ThrowIfNull(vectors);
        _vectors = vectors.ToArray();
        if (_vectors.Length == 0)
            throw new ArgumentException("A store schema must declare at least one vector name.", nameof(vectors));
        if (_vectors.Length > StoreLimits.MaxVectorNames)
            throw new ArgumentException($"A store schema may declare at most {StoreLimits.MaxVectorNames} vector names; got {_vectors.Length}.", nameof(vectors));
        _slotByName = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < _vectors.Length; i++)
        {
            var spec = _vectors[i] ?? throw new ArgumentException($"Vector spec {i} is null.", nameof(vectors));
            ValidateName(spec.Name);
            if (spec.Dimension < 1 || spec.Dimension > StoreLimits.MaxDimension)
                throw new ArgumentException($"Vector '{spec.Name}': dimension must be 1..{StoreLimits.MaxDimension}; got {spec.Dimension}.", nameof(vectors));
            if (spec.ElementType is not (VectorElementType.Float32 or VectorElementType.Float16))
                throw new ArgumentException($"Vector '{spec.Name}': unknown element type {(int)spec.ElementType}.", nameof(vectors));
            if (!_slotByName.TryAdd(spec.Name, i))
                throw new ArgumentException($"Vector name '{spec.Name}' is declared twice.", nameof(vectors));
        }
    }

    /// <summary>Creates a schema from specs.</summary>
    public StoreSchema(params VectorSpec[] vectors) : this((IEnumerable<VectorSpec>)vectors) { }

    /// <summary>The declared vectors; the index is the slot.</summary>
    public IReadOnlyList<VectorSpec> Vectors => _vectors;

    /// <summary>Number of declared vectors.</summary>
    public int Count => _vectors.Length;

    /// <summary>Looks up a vector name; false when the schema does not declare it.</summary>
    public bool TryGetSlot(string name, out int slot) => _slotByName.TryGetValue(name, out slot);

    /// <summary>The slot of a vector name; throws <see cref="ArgumentException"/> naming the declared vectors when unknown.</summary>
    public int GetSlot(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (_slotByName.TryGetValue(name, out int slot))
            return slot;
        throw new ArgumentException($"Unknown vector name '{name}'; the schema declares {Describe()}.", nameof(name));
    }

    /// <summary>Text such as <c>content(384, fp32), collab(64, fp16)</c>.</summary>
    public string Describe() => string.Join(", ", _vectors.Select(v => v.ToString()));

    /// <inheritdoc/>
    public override string ToString() => Describe();

    /// <summary>True when both declare the same vectors, in the same order, with the same dimensions and types.</summary>
    public bool IsSameAs(StoreSchema other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other._vectors.Length != _vectors.Length)
            return false;
        for (int i = 0; i < _vectors.Length; i++)
            if (!_vectors[i].Equals(other._vectors[i]))
                return false;
        return true;
    }

    internal byte[] Serialize()
    {
        var buffer = new List<byte>(64);
        buffer.AddRange(Magic.ToArray());
        Span<byte> scratch = stackalloc byte[4];
        BinaryPrimitives.WriteUInt16LittleEndian(scratch, FormatVersion);
        buffer.AddRange(scratch[..2].ToArray());
        BinaryPrimitives.WriteUInt16LittleEndian(scratch, (ushort)_vectors.Length);
        buffer.AddRange(scratch[..2].ToArray());
        foreach (var v in _vectors)
        {
            buffer.Add((byte)v.Name.Length);
            buffer.AddRange(Encoding.ASCII.GetBytes(v.Name));
            BinaryPrimitives.WriteUInt32LittleEndian(scratch, (uint)v.Dimension);
            buffer.AddRange(scratch.ToArray());
            buffer.Add((byte)v.ElementType);
        }
        return buffer.ToArray();
    }

    internal static StoreSchema Deserialize(ReadOnlySpan<byte> data, string pathForErrors)
    {
        string Corrupt(string why) => $"Schema file '{pathForErrors}' is corrupt: {why}.";
        if (data.Length < 8 || !data[..4].SequenceEqual(Magic))
            throw new InvalidDataException(Corrupt("missing the RKSC header"));
        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(data[4..]);
        if (version != FormatVersion)
            throw new InvalidDataException(Corrupt($"format version {version} is not supported (this build reads version {FormatVersion})"));
        int count = BinaryPrimitives.ReadUInt16LittleEndian(data[6..]);
        int pos = 8;
        var specs = new VectorSpec[count];
        for (int i = 0; i < count; i++)
        {
            if (pos >= data.Length) throw new InvalidDataException(Corrupt("truncated"));
            int nameLength = data[pos++];
            if (pos + nameLength + 5 > data.Length) throw new InvalidDataException(Corrupt("truncated"));
            string name = Encoding.ASCII.GetString(data.Slice(pos, nameLength));
            pos += nameLength;
            int dimension = (int)BinaryPrimitives.ReadUInt32LittleEndian(data[pos..]);
            pos += 4;
            specs[i] = new VectorSpec(name, dimension, (VectorElementType)data[pos++]);
        }
        try
        {
            return new StoreSchema(specs);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException(Corrupt(e.Message), e);
        }
    }

    private static void ValidateName(string? name)
    {
        if (string.IsNullOrEmpty(name))
            throw new ArgumentException("A vector name must not be empty.");
        if (name.Length > StoreLimits.MaxVectorNameLength)
            throw new ArgumentException($"Vector name '{name[..16]}…' is longer than {StoreLimits.MaxVectorNameLength} characters.");
        foreach (char c in name)
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
                throw new ArgumentException($"Vector name '{name}' may contain only ASCII letters, digits, '_', '-' and '.'.");
    }
}
