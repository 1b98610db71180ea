using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Unicode;
using RankEngine.Store;

namespace RankEngine.Server.Resp.Parser;

/// <summary>
/// Typed reads of request arguments. Each check happens on the raw bytes before a string or array is made, and a
/// failure throws <see cref="RespCommandException"/> with the code the client sees.
/// </summary>
internal static class Args
{
    /// <summary>Case-insensitive ASCII match of an argument against a keyword.</summary>
    public static bool Is(ReadOnlySpan<byte> arg, ReadOnlySpan<byte> keyword) => System.Text.Ascii.EqualsIgnoreCase(arg, keyword);

    /// <summary>A UTF-8 argument as a string; <paramref name="maxBytes"/> over → TOOLARGE, invalid UTF-8 → BADARG.</summary>
    public static string Text(ReadOnlySpan<byte> arg, string what, int maxBytes)
    {
        if (arg.Length > maxBytes) throw new RespCommandException(ErrorCode.TooLarge, $"{what} is {arg.Length} bytes, the limit is {maxBytes}");
        if (!Utf8.IsValid(arg)) throw new RespCommandException(ErrorCode.BadArg, $"{what} is not valid UTF-8");
        return Encoding.UTF8.GetString(arg);
    }

    /// <summary>An item or user id: non-empty UTF-8 of at most <see cref="StoreLimits.MaxIdBytes"/> bytes.</summary>
    public static string Id(ReadOnlySpan<byte> arg, string what)
    {
        if (arg.IsEmpty) throw new RespCommandException(ErrorCode.BadArg, $"{what} is empty");
        return Text(arg, what, StoreLimits.MaxIdBytes);
    }

    public static int Int(ReadOnlySpan<byte> arg, string what)
    {
        if (!int.TryParse(arg, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int value))
            throw new RespCommandException(ErrorCode.BadArg, $"{what} is not an integer: '{Preview(arg)}'");
        return value;
    }

    public static long Long(ReadOnlySpan<byte> arg, string what)
    {
        if (!long.TryParse(arg, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value))
            throw new RespCommandException(ErrorCode.BadArg, $"{what} is not an integer: '{Preview(arg)}'");
        return value;
    }

    /// <summary>
    /// A finite float32. One rule for every number argument: a spelling of NaN or infinity, or a value beyond the
    /// float32 range (±3.4028235e38), is "not a finite float32"; anything else that does not parse is "not a number".
    /// </summary>
    public static float Float(ReadOnlySpan<byte> arg, string what)
    {
        if (!float.TryParse(arg, NumberStyles.Float, CultureInfo.InvariantCulture, out float value))
        {
            if (IsNonFiniteWord(arg)) throw NotFinite(arg, what);
            throw new RespCommandException(ErrorCode.BadArg, $"{what} is not a number: '{Preview(arg)}'");
        }
        if (!float.IsFinite(value)) throw NotFinite(arg, what); // NaN, or overflowed to infinity
        return value;
    }

    private static RespCommandException NotFinite(ReadOnlySpan<byte> arg, string what) =>
        new(ErrorCode.BadArg, $"{what} must be a finite float32 (|x| ≤ 3.4028235e38), got '{Preview(arg)}'");

    private static bool IsNonFiniteWord(ReadOnlySpan<byte> arg)
    {
        if (arg.Length > 0 && arg[0] is (byte)'+' or (byte)'-') arg = arg[1..];
        return Ascii.EqualsIgnoreCase(arg, "inf"u8) || Ascii.EqualsIgnoreCase(arg, "infinity"u8) || Ascii.EqualsIgnoreCase(arg, "nan"u8);
    }

    /// <summary>
    /// True when the argument reads as a decimal number (used to type FIELD values); throws BADARG when it does but
    /// is not a finite float32, so "-1e39" is refused rather than stored and overflowed later.
    /// </summary>
    public static bool TryNumber(ReadOnlySpan<byte> arg, out double value, string what)
    {
        value = 0;
        if (arg.IsEmpty || !(arg[^1] is >= (byte)'0' and <= (byte)'9' or (byte)'.')) return false;
        if (!double.TryParse(arg, NumberStyles.Float, CultureInfo.InvariantCulture, out value)) return false;
        if (!double.IsFinite(value) || Math.Abs(value) > float.MaxValue) throw NotFinite(arg, what);
        return true;
    }

    /// <summary>
    /// A vector sent as little-endian float32 bytes: the length must be 4 × <paramref name="dimension"/> and every
    /// value finite.
    /// </summary>
    public static float[] Vector(ReadOnlySpan<byte> arg, int dimension, string what)
    {
        if (arg.Length % sizeof(float) != 0)
            throw new RespCommandException(ErrorCode.BadArg, $"{what} is {arg.Length} bytes, not a whole number of float32 values");
        int n = arg.Length / sizeof(float);
        if (n != dimension)
            throw new RespCommandException(ErrorCode.BadArg, $"{what} has {n} dimensions, expected {dimension}");
        var vector = new float[n];
        if (BitConverter.IsLittleEndian) arg.CopyTo(MemoryMarshal.AsBytes(vector.AsSpan()));
        else for (int i = 0; i < n; i++) vector[i] = BinaryPrimitives.ReadSingleLittleEndian(arg[(i * 4)..]);
        for (int i = 0; i < n; i++)
            if (!float.IsFinite(vector[i]))
                throw new RespCommandException(ErrorCode.BadArg, $"{what} has a NaN or infinite value at index {i}");
        return vector;
    }

    /// <summary>The start of an argument, printable, for error messages.</summary>
    public static string Preview(ReadOnlySpan<byte> arg)
    {
        const int max = 40;
        var sb = new StringBuilder();
        foreach (byte b in arg[..Math.Min(arg.Length, max)]) sb.Append(RespFrameParser.Printable(b));
        if (arg.Length > max) sb.Append('…');
        return sb.ToString();
    }
}
