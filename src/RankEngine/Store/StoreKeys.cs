using System.Text;

namespace RankEngine.Store;

/// <summary>Which namespace a key belongs to. Persisted (first key byte): values are append-only.</summary>
internal enum RecordKind : byte
{
    Item = 1,
    User = 2,
}

/// <summary>
/// FASTER keys: one <see cref="RecordKind"/> byte followed by the id's UTF-8 bytes, so items and users share one
/// FasterKV (one checkpoint, one write-ahead log) without colliding.
/// </summary>
internal static class StoreKeys
{
    /// <summary>Scratch size that always holds an encoded key (an id of up to MaxIdBytes chars, 3 bytes each, plus the kind byte).</summary>
    public const int MaxKeyScratch = 1 + 3 * StoreLimits.MaxIdBytes;

    /// <summary>UTF-8 that throws on lone surrogates instead of writing U+FFFD (two ids must never map to one key).</summary>
    public static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Writes the key for (kind, id) into <paramref name="destination"/> (at least <see cref="MaxKeyScratch"/> bytes) and returns its length.</summary>
    /// <exception cref="InvalidRecordException">The id is null, empty, not valid UTF-16, or longer than <see cref="StoreLimits.MaxIdBytes"/> UTF-8 bytes.</exception>
    public static int Encode(RecordKind kind, string? id, Span<byte> destination)
    {
        if (string.IsNullOrEmpty(id))
            throw new InvalidRecordException($"{Describe(kind)} id must not be empty.");
        if (id.Length > StoreLimits.MaxIdBytes)
            throw TooLong(kind, id, $"at least {id.Length}");
        destination[0] = (byte)kind;
        int length;
        try
        {
            length = StrictUtf8.GetBytes(id, destination[1..]);
        }
        catch (EncoderFallbackException)
        {
            throw new InvalidRecordException($"{Describe(kind)} id '{Printable(id)}' is not valid Unicode (it contains a lone surrogate).");
        }
        if (length > StoreLimits.MaxIdBytes)
            throw TooLong(kind, id, length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return 1 + length;
    }

    /// <summary>Reads the id back from a key (kind byte first).</summary>
    public static string DecodeId(ReadOnlySpan<byte> key) => Encoding.UTF8.GetString(key[1..]);

    public static string Describe(RecordKind kind) => kind == RecordKind.Item ? "Item" : "User";

    private static InvalidRecordException TooLong(RecordKind kind, string id, string length) =>
        new($"{Describe(kind)} id '{Printable(id)}' is too long: at most {StoreLimits.MaxIdBytes} UTF-8 bytes are allowed (got {length}).");

    /// <summary>An id shortened for error messages.</summary>
    public static string Printable(string id) => id.Length <= 40 ? id : id[..40] + "…";
}
