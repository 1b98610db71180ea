using System.Buffers;
using System.Globalization;
using System.Text;

namespace RankEngine.Client;

/// <summary>Parses RESP2/RESP3 replies from a byte sequence; incomplete input leaves the reader where it was.</summary>
internal static class RespReplyParser
{
    private const int MaxDepth = 32;
    private const long MaxBulkBytes = 512L * 1024 * 1024;
    private const long MaxElements = 64L * 1024 * 1024;

    /// <summary>True and the value when a whole reply is at the reader's position; false when more bytes are needed.</summary>
    /// <exception cref="InvalidDataException">The bytes are not RESP.</exception>
    public static bool TryParse(ref SequenceReader<byte> reader, out RespValue value)
    {
        var attempt = reader;
        if (!TryParseValue(ref attempt, 0, out value)) return false;
        reader = attempt;
        return true;
    }

    private static bool TryParseValue(ref SequenceReader<byte> reader, int depth, out RespValue value)
    {
        value = RespValue.NullValue;
        if (depth > MaxDepth) throw new InvalidDataException("reply nested too deeply");
        if (!reader.TryRead(out byte type)) return false;
        if (!reader.TryReadTo(out ReadOnlySequence<byte> line, "\r\n"u8)) return false;
        switch (type)
        {
            case (byte)'+':
                value = new RespValue(RespType.SimpleString) { Text = Encoding.UTF8.GetString(line) };
                return true;
            case (byte)'-':
                value = new RespValue(RespType.Error) { Text = Encoding.UTF8.GetString(line) };
                return true;
            case (byte)':':
                value = new RespValue(RespType.Integer) { Integer = ParseLong(line) };
                return true;
            case (byte)'_':
                value = RespValue.NullValue;
                return true;
            case (byte)'#':
                value = new RespValue(RespType.Boolean) { Integer = line.FirstSpan.Length > 0 && line.FirstSpan[0] == (byte)'t' ? 1 : 0 };
                return true;
            case (byte)',':
                value = new RespValue(RespType.Double) { Double = ParseDouble(Encoding.ASCII.GetString(line)) };
                return true;
            case (byte)'$':
            {
                long length = ParseLong(line);
                if (length < 0) { value = RespValue.NullValue; return true; }
                if (length > MaxBulkBytes) throw new InvalidDataException($"bulk reply of {length} bytes is too large");
                if (reader.Remaining < length + 2) return false;
                var bytes = new byte[length];
                reader.TryCopyTo(bytes);
                reader.Advance(length);
                if (!reader.IsNext("\r\n"u8, advancePast: true)) throw new InvalidDataException("bulk reply not terminated by CRLF");
                value = new RespValue(RespType.BulkString) { Bytes = bytes };
                return true;
            }
            case (byte)'*':
            case (byte)'%':
            case (byte)'~':
            case (byte)'>':
            {
                long count = ParseLong(line);
                if (count < 0) { value = RespValue.NullValue; return true; }
                bool map = type == (byte)'%';
                long elements = map ? count * 2 : count;
                if (elements > MaxElements) throw new InvalidDataException($"aggregate reply of {elements} elements is too large");
                var items = new RespValue[elements];
                for (long i = 0; i < elements; i++)
                    if (!TryParseValue(ref reader, depth + 1, out items[i])) return false;
                value = new RespValue(map ? RespType.Map : RespType.Array) { Items = items };
                return true;
            }
            default:
                throw new InvalidDataException($"unexpected reply type byte 0x{type:x2}");
        }
    }

    private static long ParseLong(ReadOnlySequence<byte> line)
    {
        string text = Encoding.ASCII.GetString(line);
        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long n))
            throw new InvalidDataException($"invalid length or integer '{text}'");
        return n;
    }

    private static double ParseDouble(string text) => text switch
    {
        "inf" => double.PositiveInfinity,
        "-inf" => double.NegativeInfinity,
        "nan" => double.NaN,
        _ => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) ? d : throw new InvalidDataException($"invalid double '{text}'"),
    };
}
