using System.Globalization;
using System.Text;

namespace RankEngine.Client;

/// <summary>Type of a reply value (RESP2 and RESP3).</summary>
public enum RespType : byte
{
    /// <summary><c>+text</c>.</summary>
    SimpleString,
    /// <summary><c>-CODE message</c> (surfaced as <see cref="RankEngineServerException"/> by the typed methods).</summary>
    Error,
    /// <summary><c>:n</c>.</summary>
    Integer,
    /// <summary><c>$n</c> bytes.</summary>
    BulkString,
    /// <summary><c>$-1</c>, <c>*-1</c> or RESP3 <c>_</c>.</summary>
    Null,
    /// <summary><c>*n</c> values.</summary>
    Array,
    /// <summary>RESP3 <c>%n</c> key/value pairs (kept as a flat array of 2n values).</summary>
    Map,
    /// <summary>RESP3 <c>,x</c>.</summary>
    Double,
    /// <summary>RESP3 <c>#t</c>/<c>#f</c>.</summary>
    Boolean,
}

/// <summary>One reply from the server, parsed. Arrays and maps hold their elements in <see cref="Items"/>.</summary>
public sealed class RespValue
{
    internal static readonly RespValue NullValue = new(RespType.Null);

    internal RespValue(RespType type) => Type = type;

    /// <summary>The value's type.</summary>
    public RespType Type { get; }

    /// <summary>Text of a simple string or error.</summary>
    public string? Text { get; init; }

    /// <summary>Bytes of a bulk string.</summary>
    public byte[]? Bytes { get; init; }

    /// <summary>Value of an integer or boolean (1/0).</summary>
    public long Integer { get; init; }

    /// <summary>Value of a RESP3 double.</summary>
    public double Double { get; init; }

    /// <summary>Elements of an array, or the flat key/value sequence of a map.</summary>
    public IReadOnlyList<RespValue>? Items { get; init; }

    /// <summary>True for a null reply.</summary>
    public bool IsNull => Type == RespType.Null;

    /// <summary>The value as text: a bulk string decoded as UTF-8, a simple string, or a number's invariant text.</summary>
    /// <exception cref="InvalidDataException">The value is an array, map or null.</exception>
    public string AsString() => Type switch
    {
        RespType.BulkString => Encoding.UTF8.GetString(Bytes!),
        RespType.SimpleString or RespType.Error => Text!,
        RespType.Integer or RespType.Boolean => Integer.ToString(CultureInfo.InvariantCulture),
        RespType.Double => Double.ToString("R", CultureInfo.InvariantCulture),
        _ => throw new InvalidDataException($"expected a string reply, got {Type}"),
    };

    /// <summary>A number reply: a RESP3 double, an integer, or a bulk string holding a decimal number (RESP2).</summary>
    public double AsDouble() => Type switch
    {
        RespType.Double => Double,
        RespType.Integer => Integer,
        RespType.BulkString or RespType.SimpleString => ParseNumber(AsString()),
        _ => throw new InvalidDataException($"expected a number reply, got {Type}"),
    };

    /// <summary>As <see cref="AsDouble"/>, rounded to float (scores are float32 on the server: the text round-trips exactly).</summary>
    public float AsFloat() => Type is RespType.BulkString or RespType.SimpleString ? (float)ParseNumber(AsString(), asFloat: true) : (float)AsDouble();

    /// <summary>An integer reply.</summary>
    public long AsInteger() => Type == RespType.Integer ? Integer : throw new InvalidDataException($"expected an integer reply, got {Type}");

    /// <summary>Elements of an array reply.</summary>
    public IReadOnlyList<RespValue> AsArray() =>
        Type == RespType.Array ? Items! : throw new InvalidDataException($"expected an array reply, got {Type}");

    /// <summary>A map reply (RESP3 map, or a RESP2 flat array of key/value pairs) as a dictionary keyed by text.</summary>
    public IReadOnlyDictionary<string, RespValue> AsMap()
    {
        if (Type is not (RespType.Map or RespType.Array) || Items!.Count % 2 != 0)
            throw new InvalidDataException($"expected a map reply, got {Type}");
        var map = new Dictionary<string, RespValue>(Items.Count / 2, StringComparer.Ordinal);
        for (int i = 0; i < Items.Count; i += 2) map[Items[i].AsString()] = Items[i + 1];
        return map;
    }

    private static double ParseNumber(string text, bool asFloat = false)
    {
        switch (text)
        {
            case "nan": return double.NaN;
            case "inf": return double.PositiveInfinity;
            case "-inf": return double.NegativeInfinity;
        }
        if (asFloat && float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out float f)) return f;
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double d)) return d;
        throw new InvalidDataException($"expected a number, got '{text}'");
    }

    /// <inheritdoc/>
    public override string ToString() => Type switch
    {
        RespType.Array or RespType.Map => $"{Type}[{Items!.Count}]",
        RespType.Null => "(nil)",
        RespType.Error => "-" + Text,
        _ => AsString(),
    };
}
