namespace RankEngine.Client;

/// <summary>Feedback event kinds (the protocol's words: view, click, like, dislike, purchase, skip).</summary>
public enum EventKind
{
    /// <summary>Viewed (weak positive).</summary>
    View,
    /// <summary>Clicked.</summary>
    Click,
    /// <summary>Liked.</summary>
    Like,
    /// <summary>Disliked (negative).</summary>
    Dislike,
    /// <summary>Purchased (strong positive).</summary>
    Purchase,
    /// <summary>Skipped (weak negative).</summary>
    Skip,
}

/// <summary>A typed item field for <see cref="RankEngineClient.AddItemAsync"/>.</summary>
public sealed record ItemField
{
    private ItemField(string name, string kind, double number, string? text, IReadOnlyList<string>? tags)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Name = name;
        Kind = kind;
        Number = number;
        Text = text;
        Tags = tags ?? Array.Empty<string>();
    }

    /// <summary>Field name.</summary>
    public string Name { get; }

    /// <summary>"num", "str" or "tags" (as ITEM.GET reports it).</summary>
    public string Kind { get; }

    /// <summary>The value of a number field.</summary>
    public double Number { get; }

    /// <summary>The value of a string field.</summary>
    public string? Text { get; }

    /// <summary>The values of a tags field.</summary>
    public IReadOnlyList<string> Tags { get; }

    /// <summary>A number field (filterable with &gt;=, &lt;=; usable as a BOOST).</summary>
    public static ItemField Num(string name, double value) =>
        double.IsFinite(value) ? new(name, "num", value, null, null) : throw new ArgumentException($"field '{name}' must be a finite number");

    /// <summary>A string field (FILTER name=value matches it, case-insensitively).</summary>
    public static ItemField Str(string name, string value) => new(name, "str", 0, value ?? throw new ArgumentNullException(nameof(value)), null);

    /// <summary>A tags field (FILTER name=tag matches any of them). Tags may not contain '|'.</summary>
    public static ItemField TagList(string name, params string[] tags)
    {
        foreach (var t in tags)
            if (t.Contains('|')) throw new ArgumentException($"tag '{t}' contains '|', the protocol's tag separator");
        return new(name, "tags", 0, null, tags.ToArray());
    }
}

/// <summary>A ranking request for <see cref="RankEngineClient.RankAsync"/> (the RANK command's options).</summary>
public sealed record RankQuery
{
    /// <summary>User to personalise for; null for none (cold start).</summary>
    public string? UserId { get; init; }
    /// <summary>How many items, 1..4096.</summary>
    public int K { get; init; } = 10;
    /// <summary>Free-text query (needs a server with a model).</summary>
    public string? Query { get; init; }
    /// <summary>Rank only these ids; null ranks the whole catalog.</summary>
    public IReadOnlyList<string>? Candidates { get; init; }
    /// <summary>MMR diversity λ in [0, 1].</summary>
    public float? Diversity { get; init; }
    /// <summary>Filter expressions: "field=value", "field&gt;=x", "field&lt;=x", "field&gt;x", "field&lt;x".</summary>
    public IReadOnlyList<string>? Filters { get; init; }
    /// <summary>Numeric field boosts: field → weight.</summary>
    public IReadOnlyDictionary<string, float>? Boosts { get; init; }
    /// <summary>Leave out items the user has events for.</summary>
    public bool ExcludeSeen { get; init; }
    /// <summary>Override of the content (encoder) similarity weight.</summary>
    public float? ContentWeight { get; init; }
    /// <summary>Override of the collaborative similarity weight.</summary>
    public float? CollabWeight { get; init; }
}

/// <summary>One ranked item with its score and the score's parts (score = content + collab + boosts).</summary>
public sealed record RankedItem(string Id, float Score, float Content, float Collab, float Boosts);

/// <summary>The answer to RANK or SCORE.</summary>
public sealed record RankResult
{
    /// <summary>Items, best first.</summary>
    public required IReadOnlyList<RankedItem> Items { get; init; }
    /// <summary>"personalized", "query" (cold start with a query) or "popularity" (cold start without).</summary>
    public required string Strategy { get; init; }
    /// <summary>The user's A/B bucket, or null without a user.</summary>
    public string? Bucket { get; init; }
    /// <summary>Why this strategy.</summary>
    public required string Explanation { get; init; }
    /// <summary>Candidate ids not in the catalog.</summary>
    public required IReadOnlyList<string> UnknownCandidates { get; init; }
}

/// <summary>An item as ITEM.GET returns it.</summary>
public sealed record ItemInfo
{
    /// <summary>Item id.</summary>
    public required string Id { get; init; }
    /// <summary>Stored text, if any.</summary>
    public string? Text { get; init; }
    /// <summary>Typed fields.</summary>
    public required IReadOnlyList<ItemField> Fields { get; init; }
    /// <summary>Vectors by name ("content", "collab"), when asked for.</summary>
    public IReadOnlyDictionary<string, float[]> Vectors { get; init; } = new Dictionary<string, float[]>();
}

/// <summary>A recorded feedback event.</summary>
public sealed record UserEventInfo(string ItemId, EventKind Kind, float Weight, DateTimeOffset Timestamp);

/// <summary>A user as USER.GET returns it.</summary>
public sealed record UserInfo
{
    /// <summary>User id.</summary>
    public required string Id { get; init; }
    /// <summary>The user's A/B bucket.</summary>
    public required string Bucket { get; init; }
    /// <summary>Whether the user has a profile vector (some positive history).</summary>
    public bool HasProfile { get; init; }
    /// <summary>Recent events, oldest first.</summary>
    public required IReadOnlyList<UserEventInfo> Events { get; init; }
}

/// <summary>INFO's key:value lines.</summary>
public sealed class ServerInfo
{
    internal ServerInfo(string raw)
    {
        Raw = raw;
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in raw.Split("\r\n", StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith('#')) continue;
            int colon = line.IndexOf(':');
            if (colon > 0) values[line[..colon]] = line[(colon + 1)..];
        }
        Values = values;
    }

    /// <summary>The reply text.</summary>
    public string Raw { get; }

    /// <summary>Values by key (e.g. "items", "backend", "connected_clients").</summary>
    public IReadOnlyDictionary<string, string> Values { get; }

    /// <summary>A value by key.</summary>
    public string this[string key] => Values[key];
}
