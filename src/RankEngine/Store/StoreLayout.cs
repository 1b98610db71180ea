using System.Buffers.Binary;

namespace RankEngine.Store;

/// <summary>
/// Segment sizes of the FASTER hybrid log and the write-ahead log, fixed when a data directory is created and kept in
/// <c>layout.bin</c>: a segment's file name is derived from the address divided by the segment size, so reopening
/// with another size would read the wrong bytes. Directories made before the file existed used 1 GiB / 256 MiB.
/// </summary>
internal readonly record struct StoreLayout(int KvSegmentBits, int WalSegmentBits)
{
    public const string FileName = "layout.bin";
    private static ReadOnlySpan<byte> Magic => "RKLY"u8;
    private const ushort FormatVersion = 1;

    /// <summary>What directories created before <c>layout.bin</c> existed use.</summary>
    public static readonly StoreLayout Legacy = new(30, 28);

    public long KvSegmentBytes => 1L << KvSegmentBits;

    public long WalSegmentBytes => 1L << WalSegmentBits;

    /// <summary>
    /// Reads the directory's layout; for a new directory (no schema yet) writes one with <paramref name="segmentBytes"/>
    /// for both logs. A directory with a schema but no layout file is a legacy one.
    /// </summary>
    public static StoreLayout ReadOrCreate(string directory, bool isNew, long segmentBytes)
    {
        string path = Path.Combine(directory, FileName);
        if (File.Exists(path))
            return Parse(File.ReadAllBytes(path), path);
        if (!isNew)
            return Legacy;
        int bits = System.Numerics.BitOperations.Log2((ulong)segmentBytes);
        var layout = new StoreLayout(bits, bits);
        byte[] bytes = new byte[8];
        Magic.CopyTo(bytes);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(4), FormatVersion);
        bytes[6] = (byte)layout.KvSegmentBits;
        bytes[7] = (byte)layout.WalSegmentBits;
        // Write-then-rename, flushed, like schema.bin: a crash never leaves half a file.
        string temporary = path + ".tmp";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(bytes);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
        return layout;
    }

    internal static StoreLayout Parse(ReadOnlySpan<byte> data, string pathForErrors)
    {
        if (data.Length < 8 || !data[..4].SequenceEqual(Magic))
            throw new StoreCorruptException($"Layout file '{pathForErrors}' is corrupt: missing the RKLY header.");
        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(data[4..]);
        if (version != FormatVersion)
            throw new StoreCorruptException($"Layout file '{pathForErrors}' has format version {version}; this build reads version {FormatVersion}.");
        var layout = new StoreLayout(data[6], data[7]);
        if (layout.KvSegmentBits is < WriteAheadLog.PageSizeBits or > 30 || layout.WalSegmentBits is < WriteAheadLog.PageSizeBits or > 30)
            throw new StoreCorruptException($"Layout file '{pathForErrors}' is corrupt: segment sizes 2^{layout.KvSegmentBits} / 2^{layout.WalSegmentBits} are outside 2^{WriteAheadLog.PageSizeBits}..2^30.");
        return layout;
    }
}
