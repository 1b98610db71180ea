using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;

namespace RankEngine.Encoders;

/// <summary>
/// Encodes a catalog's item texts in batches and caches the vectors on disk, so reruns over the same data and model
/// skip encoding. The cache file is keyed by the model file's content hash (XxHash128 of its bytes, so a re-converted
/// or different model misses) and by a hash of the texts in order (so a different dataset or item text misses):
/// <c>{cacheDir}/items-{model}-{texts}.vec</c>. A cache file that does not validate (wrong magic, key, size) is
/// ignored and rewritten; files are written to a temporary name and renamed, so a crash never leaves a torn cache.
/// </summary>
internal static class ItemVectorCache
{
    private const uint Magic = 0x56494B52; // "RKIV" little-endian
    private const int Version = 1;
    private const int HeaderSize = 4 + 4 + 4 + 4 + 16 + 16;

    /// <summary>Texts per encoder call.</summary>
    public const int DefaultBatchSize = 256;

    /// <summary>
    /// Row-major [texts × encoder.Dimension] vectors, from the cache when valid, else encoded (then cached when
    /// <paramref name="cacheDirectory"/> is given). <paramref name="progress"/> gets (texts done, total).
    /// </summary>
    public static float[] EncodeAll(TextEncoder encoder, string modelPath, IReadOnlyList<string> texts, string? cacheDirectory,
        out bool fromCache, Action<int, int>? progress = null, int batchSize = DefaultBatchSize, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(texts);
        if (texts.Count == 0) throw new ArgumentException("no item texts to encode");
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), "the batch size must be positive");
        int dim = encoder.Dimension;
        string? path = null;
        byte[] modelKey = Array.Empty<byte>(), textKey = Array.Empty<byte>();
        if (cacheDirectory is not null)
        {
            modelKey = HashFile(modelPath);
            textKey = HashTexts(texts);
            path = Path.Combine(cacheDirectory, $"items-{Convert.ToHexStringLower(modelKey, 0, 8)}-{Convert.ToHexStringLower(textKey, 0, 8)}.vec");
            if (TryRead(path, texts.Count, dim, modelKey, textKey) is { } cached)
            {
                fromCache = true;
                progress?.Invoke(texts.Count, texts.Count);
                return cached;
            }
        }
        var vectors = new float[(long)texts.Count * dim];
        var batch = new List<string>(batchSize);
        for (int start = 0; start < texts.Count; start += batchSize)
        {
            cancellation.ThrowIfCancellationRequested();
            batch.Clear();
            for (int i = start; i < Math.Min(texts.Count, start + batchSize); i++) batch.Add(texts[i]);
            var result = encoder.Encode(batch);
            result.Vectors.AsSpan(0, batch.Count * dim).CopyTo(vectors.AsSpan(start * dim));
            progress?.Invoke(start + batch.Count, texts.Count);
        }
        if (path is not null) Write(path, vectors, texts.Count, dim, modelKey, textKey);
        fromCache = false;
        return vectors;
    }

    private static byte[] HashFile(string path)
    {
        var hash = new XxHash128();
        using var stream = File.OpenRead(path);
        hash.Append(stream);
        return hash.GetCurrentHash();
    }

    private static byte[] HashTexts(IReadOnlyList<string> texts)
    {
        var hash = new XxHash128();
        Span<byte> length = stackalloc byte[4];
        byte[] buffer = new byte[1024];
        foreach (var text in texts)
        {
            int max = Encoding.UTF8.GetMaxByteCount(text.Length);
            if (buffer.Length < max) buffer = new byte[max];
            int n = Encoding.UTF8.GetBytes(text, buffer);
            BinaryPrimitives.WriteInt32LittleEndian(length, n); // length prefix: ["ab","c"] ≠ ["a","bc"]
            hash.Append(length);
            hash.Append(buffer.AsSpan(0, n));
        }
        return hash.GetCurrentHash();
    }

    private static float[]? TryRead(string path, int count, int dim, byte[] modelKey, byte[] textKey)
    {
        try
        {
            if (!File.Exists(path)) return null;
            using var stream = File.OpenRead(path);
            if (stream.Length != HeaderSize + (long)count * dim * sizeof(float)) return null;
            var header = new byte[HeaderSize];
            stream.ReadExactly(header);
            if (BinaryPrimitives.ReadUInt32LittleEndian(header) != Magic || BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(4)) != Version
                || BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(8)) != count || BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(12)) != dim
                || !header.AsSpan(16, 16).SequenceEqual(modelKey) || !header.AsSpan(32, 16).SequenceEqual(textKey))
                return null;
            var vectors = new float[(long)count * dim];
            stream.ReadExactly(MemoryMarshal.AsBytes(vectors.AsSpan()));
            foreach (float v in vectors)
                if (!float.IsFinite(v)) return null;
            return vectors;
        }
        catch (IOException)
        {
            return null; // unreadable cache: encode again
        }
    }

    private static void Write(string path, float[] vectors, int count, int dim, byte[] modelKey, byte[] textKey)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        string temp = path + "." + Environment.ProcessId + ".tmp";
        using (var stream = File.Create(temp))
        {
            var header = new byte[HeaderSize];
            BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
            BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(4), Version);
            BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(8), count);
            BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(12), dim);
            modelKey.CopyTo(header, 16);
            textKey.CopyTo(header, 32);
            stream.Write(header);
            stream.Write(MemoryMarshal.AsBytes(vectors.AsSpan()));
        }
        File.Move(temp, path, overwrite: true);
    }
}
