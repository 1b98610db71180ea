namespace RankEngine.Store;

/// <summary>Kind of a typed item field. Persisted (record layout): values are append-only.</summary>
public enum FieldKind : byte
{
    /// <summary>A UTF-8 string.</summary>
    String = 1,

    /// <summary>A finite number within the float32 range (stored as a double).</summary>
    Number = 2,

    /// <summary>A list of UTF-8 strings.</summary>
    Tags = 3,
}

/// <summary>A typed item field: a string, a finite number or a list of tags. Compared by value.</summary>
public sealed class FieldValue : IEquatable<FieldValue>
{
    private static readonly string[] NoTags = [];

    private FieldValue(FieldKind kind, string? text, double number, string[] tags)
    {
        Kind = kind;
        Text = text;
        Number = number;
        TagList = tags;
    }

    /// <summary>Which of the value properties is meaningful.</summary>
    public FieldKind Kind { get; }

    /// <summary>The string, for <see cref="FieldKind.String"/>; otherwise null.</summary>
    public string? Text { get; }

    /// <summary>The number, for <see cref="FieldKind.Number"/>; otherwise 0.</summary>
    public double Number { get; }

    /// <summary>The tags, for <see cref="FieldKind.Tags"/>; otherwise empty.</summary>
    public IReadOnlyList<string> TagList { get; }

    /// <summary>A string field.</summary>
    public static FieldValue String(string value) => new(FieldKind.String, value ?? throw new ArgumentNullException(nameof(value)), 0, NoTags);

    /// <summary>A number field (NaN and infinities are rejected when the item is written).</summary>
    public static FieldValue Num(double value) => new(FieldKind.Number, null, value, NoTags);

    /// <summary>A tags field.</summary>
    public static FieldValue Tags(params string[] tags) => new(FieldKind.Tags, null, 0, (string[])(tags ?? throw new ArgumentNullException(nameof(tags))).Clone());

    /// <inheritdoc/>
    public bool Equals(FieldValue? other)
    {
        if (other is null || other.Kind != Kind)
            return false;
        return Kind switch
        {
            FieldKind.String => string.Equals(Text, other.Text, StringComparison.Ordinal),
            FieldKind.Number => Number.Equals(other.Number),
            _ => TagList.SequenceEqual(other.TagList, StringComparer.Ordinal),
        };
    }

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as FieldValue);

    /// <inheritdoc/>
    public override int GetHashCode() => Kind switch
    {
        FieldKind.String => HashCode.Combine(Kind, Text),
        FieldKind.Number => HashCode.Combine(Kind, Number),
        _ => HashCode.Combine(Kind, TagList.Count),
    };

    /// <inheritdoc/>
    public override string ToString() => Kind switch
    {
        FieldKind.String => $"\"{Text}\"",
        FieldKind.Number => Number.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        _ => "[" + string.Join(", ", TagList) + "]",
    };
}
