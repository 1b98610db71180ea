using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace RankEngine.Models;

/// <summary>
/// Model files in a data directory: <c>models/model-NNNNNN.bin</c>, one per training, and <c>models/CURRENT</c>
/// naming the one to serve. A new model is written to a temporary file, flushed, renamed into place, and only
/// then does CURRENT (itself replaced by rename) point at it: a crash at any moment leaves the last good model.
/// Each file ends with an XxHash64 of everything before it, so a torn or tampered file is refused, and loading
/// falls back to the newest older file that verifies. The two newest files are kept.
/// </summary>
/// <remarks>Layout: "REMODEL1", u32 header length, UTF-8 JSON <see cref="ModelDescription"/>, u32 item count, each
/// id as u16 length + UTF-8, then fp32 arrays (input, output, content→input, content→output, content mean; the
/// last three only when ContentDimension &gt; 0), little-endian, then the u64 hash.</remarks>
internal static class ModelFiles
{
    private static readonly byte[] Magic = "REMODEL1"u8.ToArray();
    private const string Folder = "models";
    public const string CurrentName = "CURRENT";
    // NaN (no validation split) must round-trip.
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public static string DirectoryOf(string dataDirectory) => Path.Combine(dataDirectory, Folder);

    /// <summary>The version the next model gets (one past the newest file).</summary>
    public static long NextVersion(string dataDirectory)
    {
        long max = 0;
        foreach (var (version, _) in List(dataDirectory)) max = Math.Max(max, version);
        return max + 1;
    }

    /// <summary>Writes a model durably and makes it current; returns its path.</summary>
    public static string Save(string dataDirectory, RankingModel model)
    {
        string folder = DirectoryOf(dataDirectory);
        Directory.CreateDirectory(folder);
        string name = $"model-{model.Description.Version:D6}.bin";
        string path = Path.Combine(folder, name);
        string temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            Write(stream, model);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
        string currentTemp = Path.Combine(folder, CurrentName + ".tmp");
        using (var stream = new FileStream(currentTemp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(Encoding.UTF8.GetBytes(name + "\n"));
            stream.Flush(flushToDisk: true);
        }
        File.Move(currentTemp, Path.Combine(folder, CurrentName), overwrite: true);
        Prune(dataDirectory, keep: 2);
        return path;
    }

    /// <summary>Loads the current model, or the newest one that verifies; null when the directory has none.</summary>
    public static RankingModel? LoadCurrent(string dataDirectory, out string? warning)
    {
        warning = null;
        string folder = DirectoryOf(dataDirectory);
        if (!Directory.Exists(folder)) return null;
        var candidates = new List<string>();
        string currentPath = Path.Combine(folder, CurrentName);
        if (File.Exists(currentPath))
        {
            string name = File.ReadAllText(currentPath).Trim();
            if (name.Length > 0 && name.IndexOfAny(Path.GetInvalidFileNameChars()) < 0) candidates.Add(Path.Combine(folder, name));
        }
        foreach (var (_, path) in List(dataDirectory).OrderByDescending(f => f.Version))
            if (!candidates.Contains(path)) candidates.Add(path);
        foreach (var path in candidates)
        {
            if (!File.Exists(path)) continue;
            try
            {
                return Read(path);
            }
            catch (InvalidDataException e)
            {
                warning = $"model file {Path.GetFileName(path)} was skipped: {e.Message}";
            }
        }
        return null;
    }

    public static void Write(Stream stream, RankingModel model)
    {
        using var hashing = new HashingStream(stream);
        var d = model.Description;
        hashing.Write(Magic);
        byte[] header = JsonSerializer.SerializeToUtf8Bytes(d, Json);
        WriteU32(hashing, (uint)header.Length);
        hashing.Write(header);
        WriteU32(hashing, (uint)model.ItemIds.Length);
        Span<byte> len = stackalloc byte[2];
        foreach (var id in model.ItemIds)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(id);
            BinaryPrimitives.WriteUInt16LittleEndian(len, checked((ushort)bytes.Length));
            hashing.Write(len);
            hashing.Write(bytes);
        }
        hashing.Write(MemoryMarshal.AsBytes(model.Input.AsSpan()));
        hashing.Write(MemoryMarshal.AsBytes(model.Output.AsSpan()));
        if (d.ContentDimension > 0)
        {
            hashing.Write(MemoryMarshal.AsBytes(model.ContentToInput.AsSpan()));
            hashing.Write(MemoryMarshal.AsBytes(model.ContentToOutput.AsSpan()));
            hashing.Write(MemoryMarshal.AsBytes(model.ContentMean.AsSpan()));
        }
        Span<byte> trailer = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(trailer, hashing.Hash.GetCurrentHashAsUInt64());
        stream.Write(trailer);
    }

    /// <exception cref="InvalidDataException">The file is truncated, tampered with or not a model file.</exception>
    public static RankingModel Read(string path)
    {
        byte[] all = File.ReadAllBytes(path);
        if (all.Length < Magic.Length + 16 || !all.AsSpan(0, Magic.Length).SequenceEqual(Magic))
            throw new InvalidDataException("not a RankEngine model file");
        var body = all.AsSpan(0, all.Length - 8);
        if (XxHash64.HashToUInt64(body) != BinaryPrimitives.ReadUInt64LittleEndian(all.AsSpan(all.Length - 8)))
            throw new InvalidDataException("checksum mismatch (truncated or modified)");
        int at = Magic.Length;
        int headerLength = (int)ReadU32(body, ref at);
        var d = JsonSerializer.Deserialize<ModelDescription>(Slice(body, ref at, headerLength), Json)
                ?? throw new InvalidDataException("empty header");
        int count = (int)ReadU32(body, ref at);
        if (count < 0 || d.Rank <= 0 || d.ContentDimension < 0) throw new InvalidDataException("bad shape");
        var ids = new string[count];
        for (int i = 0; i < count; i++)
        {
            int n = BinaryPrimitives.ReadUInt16LittleEndian(Slice(body, ref at, 2));
            ids[i] = Encoding.UTF8.GetString(Slice(body, ref at, n));
        }
        var input = Floats(body, ref at, (long)count * d.Rank);
        var output = Floats(body, ref at, (long)count * d.Rank);
        float[]? toInput = null, toOutput = null, mean = null;
        if (d.ContentDimension > 0)
        {
            toInput = Floats(body, ref at, (long)d.ContentDimension * d.Rank);
            toOutput = Floats(body, ref at, (long)d.ContentDimension * d.Rank);
            mean = Floats(body, ref at, d.ContentDimension);
        }
        if (at != body.Length) throw new InvalidDataException("trailing bytes");
        return new RankingModel(d, ids, input, output, toInput, toOutput, mean);
    }

    private static IEnumerable<(long Version, string Path)> List(string dataDirectory)
    {
        string folder = DirectoryOf(dataDirectory);
        if (!Directory.Exists(folder)) yield break;
        foreach (var path in Directory.EnumerateFiles(folder, "model-*.bin"))
        {
            string stem = Path.GetFileNameWithoutExtension(path);
            if (long.TryParse(stem.AsSpan(6), out long v)) yield return (v, path);
        }
    }

    private static void Prune(string dataDirectory, int keep)
    {
        foreach (var (_, path) in List(dataDirectory).OrderByDescending(f => f.Version).Skip(keep))
        {
            try { File.Delete(path); } catch (IOException) { } // a reader may still hold it on some systems
        }
    }

    private static float[] Floats(ReadOnlySpan<byte> body, ref int at, long n) =>
        MemoryMarshal.Cast<byte, float>(Slice(body, ref at, checked((int)(n * 4)))).ToArray();

    private static ReadOnlySpan<byte> Slice(ReadOnlySpan<byte> body, ref int at, int length)
    {
        if (length < 0 || at + (long)length > body.Length) throw new InvalidDataException("truncated");
        var s = body.Slice(at, length);
        at += length;
        return s;
    }

    private static uint ReadU32(ReadOnlySpan<byte> body, ref int at) => BinaryPrimitives.ReadUInt32LittleEndian(Slice(body, ref at, 4));

    private static void WriteU32(Stream s, uint v)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, v);
        s.Write(b);
    }

    /// <summary>Passes writes through while hashing them.</summary>
    private sealed class HashingStream(Stream inner) : Stream
    {
        public XxHash64 Hash { get; } = new();
        public override void Write(ReadOnlySpan<byte> buffer) { Hash.Append(buffer); inner.Write(buffer); }
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        protected override void Dispose(bool disposing) { } // the caller owns the inner stream
    }
}
