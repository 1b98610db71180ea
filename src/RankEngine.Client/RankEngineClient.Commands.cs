using System.Buffers.Binary;

namespace RankEngine.Client;

/// <summary>Typed commands (see docs/protocol.md for each command's arguments and reply).</summary>
public sealed partial class RankEngineClient
{
    /// <summary>PING: "PONG".</summary>
    public async Task<string> PingAsync() => (await ExecuteAsync("PING").ConfigureAwait(false)).AsString();

    /// <summary>AUTH token.</summary>
    /// <exception cref="RankEngineServerException">NOAUTH when the token is wrong; ERR when the server has none.</exception>
    public async Task AuthAsync(string token) => await ExecuteAsync("AUTH", token).ConfigureAwait(false);

    /// <summary>INFO [section]: server, engine, clients, stats and experiment (per-bucket CTR) values.</summary>
    public async Task<ServerInfo> InfoAsync(string? section = null) =>
        new((section is null ? await ExecuteAsync("INFO").ConfigureAwait(false) : await ExecuteAsync("INFO", section).ConfigureAwait(false)).AsString());

    /// <summary>SAVE: a store checkpoint.</summary>
    public async Task SaveAsync() => await ExecuteAsync("SAVE").ConfigureAwait(false);

    /// <summary>ENCODE: one unit vector per text, from the server's model.</summary>
    public async Task<float[][]> EncodeAsync(IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var request = new RequestBuilder("ENCODE");
        foreach (var t in texts) request.Add(t);
        var reply = (await Send(ref request).ConfigureAwait(false)).AsArray();
        var vectors = new float[reply.Count][];
        for (int i = 0; i < vectors.Length; i++) vectors[i] = DecodeVector(reply[i]);
        return vectors;
    }

    /// <summary>ITEM.ADD: adds or replaces an item whose content vector the server encodes from <paramref name="text"/>. Returns once durable.</summary>
    public async Task AddItemAsync(string id, string text, IEnumerable<ItemField>? fields = null, ReadOnlyMemory<float>? collab = null)
    {
        var request = new RequestBuilder("ITEM.ADD");
        request.Add(id);
        request.Add(text);
        AddItemOptions(ref request, fields, collab);
        await Send(ref request).ConfigureAwait(false);
    }

    /// <summary>ITEM.ADDVEC: adds or replaces an item with its content vector given (normalised by the server). Returns once durable.</summary>
    public async Task AddItemVectorAsync(string id, ReadOnlyMemory<float> content, IEnumerable<ItemField>? fields = null, string? text = null,
        ReadOnlyMemory<float>? collab = null)
    {
        var request = new RequestBuilder("ITEM.ADDVEC");
        request.Add(id);
        request.AddVector(content.Span);
        if (text is not null)
        {
            request.Add("TEXT");
            request.Add(text);
        }
        AddItemOptions(ref request, fields, collab);
        await Send(ref request).ConfigureAwait(false);
    }

    private static void AddItemOptions(ref RequestBuilder request, IEnumerable<ItemField>? fields, ReadOnlyMemory<float>? collab)
    {
        if (fields is not null)
            foreach (var f in fields)
            {
                switch (f.Kind)
                {
                    case "num":
                        request.Add("FIELD");
                        request.Add(f.Name);
                        request.Add(f.Number);
                        break;
                    case "str":
                        request.Add("STR");
                        request.Add(f.Name);
                        request.Add(f.Text!);
                        break;
                    default:
                        request.Add("TAGS");
                        request.Add(f.Name);
                        request.Add(string.Join('|', f.Tags));
                        break;
                }
            }
        if (collab is { } c)
        {
            request.Add("COLLAB");
            request.AddVector(c.Span);
        }
    }

    /// <summary>ITEM.GET: the item, or null when it does not exist.</summary>
    public async Task<ItemInfo?> GetItemAsync(string id, bool withVectors = false)
    {
        RespValue reply;
        try
        {
            reply = withVectors ? await ExecuteAsync("ITEM.GET", id, "WITHVECTORS").ConfigureAwait(false) : await ExecuteAsync("ITEM.GET", id).ConfigureAwait(false);
        }
        catch (RankEngineServerException e) when (e.Code == "NOTFOUND")
        {
            return null;
        }
        var map = reply.AsMap();
        var fields = new List<ItemField>();
        foreach (var (name, value) in map["fields"].AsMap())
        {
            var pair = value.AsArray();
            fields.Add(pair[0].AsString() switch
            {
                "num" => ItemField.Num(name, pair[1].AsDouble()),
                "str" => ItemField.Str(name, pair[1].AsString()),
                _ => ItemField.TagList(name, pair[1].AsArray().Select(t => t.AsString()).ToArray()),
            });
        }
        var vectors = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (var (key, value) in map)
            if (key is not ("id" or "text" or "fields")) vectors[key] = DecodeVector(value);
        return new ItemInfo
        {
            Id = map["id"].AsString(),
            Text = map["text"].IsNull ? null : map["text"].AsString(),
            Fields = fields,
            Vectors = vectors,
        };
    }

    /// <summary>ITEM.DEL: true when the item existed. Returns once durable.</summary>
    public async Task<bool> DeleteItemAsync(string id) => (await ExecuteAsync("ITEM.DEL", id).ConfigureAwait(false)).AsInteger() == 1;

    /// <summary>USER.EVENT: records feedback; the user's next ranking reflects it. Returns once durable.</summary>
    /// <exception cref="RankEngineServerException">NOTFOUND for an unknown item; BADARG for a bad weight.</exception>
    public async Task RecordEventAsync(string userId, string itemId, EventKind kind, float weight = 1f, DateTimeOffset? at = null)
    {
        var request = new RequestBuilder("USER.EVENT");
        request.Add(userId);
        request.Add(itemId);
        request.Add(KindWord(kind));
        request.Add(weight);
        if (at is { } t)
        {
            request.Add("AT");
            request.Add(t.ToUnixTimeMilliseconds());
        }
        await Send(ref request).ConfigureAwait(false);
    }

    /// <summary>USER.GET: the user, or null when unknown.</summary>
    public async Task<UserInfo?> GetUserAsync(string userId)
    {
        RespValue reply;
        try
        {
            reply = await ExecuteAsync("USER.GET", userId).ConfigureAwait(false);
        }
        catch (RankEngineServerException e) when (e.Code == "NOTFOUND")
        {
            return null;
        }
        var map = reply.AsMap();
        var events = new List<UserEventInfo>();
        foreach (var e in map["events"].AsArray())
        {
            var f = e.AsArray();
            events.Add(new UserEventInfo(f[0].AsString(), Enum.Parse<EventKind>(f[1].AsString(), ignoreCase: true), f[2].AsFloat(),
                DateTimeOffset.FromUnixTimeMilliseconds(f[3].AsInteger())));
        }
        return new UserInfo { Id = map["id"].AsString(), Bucket = map["bucket"].AsString(), HasProfile = map["profile"].AsInteger() == 1, Events = events };
    }

    /// <summary>RANK: the top items for a user and/or query, with each score's parts.</summary>
    public async Task<RankResult> RankAsync(RankQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var request = new RequestBuilder("RANK");
        request.Add(query.UserId ?? "");
        request.Add("K");
        request.Add(query.K);
        if (query.Query is not null) { request.Add("QUERY"); request.Add(query.Query); }
        if (query.Candidates is not null)
        {
            request.Add("CANDIDATES");
            request.Add(query.Candidates.Count);
            foreach (var c in query.Candidates) request.Add(c);
        }
        if (query.Diversity is { } d) { request.Add("DIVERSITY"); request.Add(d); }
        if (query.ContentWeight is { } cw) { request.Add("CONTENT_WEIGHT"); request.Add(cw); }
        if (query.CollabWeight is { } lw) { request.Add("COLLAB_WEIGHT"); request.Add(lw); }
        if (query.Filters is not null)
            foreach (var f in query.Filters) { request.Add("FILTER"); request.Add(f); }
        if (query.Boosts is not null)
            foreach (var (field, w) in query.Boosts) { request.Add("BOOST"); request.Add(field); request.Add(w); }
        if (query.ExcludeSeen) request.Add("EXCLUDE_SEEN");
        return ParseRanking(await Send(ref request).ConfigureAwait(false));
    }

    /// <summary>SCORE: the given items scored for the user, best first (unknown ids listed in <see cref="RankResult.UnknownCandidates"/>).</summary>
    public async Task<RankResult> ScoreAsync(string userId, IReadOnlyList<string> itemIds)
    {
        ArgumentNullException.ThrowIfNull(itemIds);
        var request = new RequestBuilder("SCORE");
        request.Add(userId);
        foreach (var id in itemIds) request.Add(id);
        return ParseRanking(await Send(ref request).ConfigureAwait(false));
    }

    /// <summary>Parses the RANK/SCORE reply map.</summary>
    public static RankResult ParseRanking(RespValue reply)
    {
        var map = reply.AsMap();
        var entries = map["items"].AsArray();
        var items = new RankedItem[entries.Count];
        for (int i = 0; i < items.Length; i++)
        {
            var e = entries[i].AsArray();
            items[i] = new RankedItem(e[0].AsString(), e[1].AsFloat(), e[2].AsFloat(), e[3].AsFloat(), e[4].AsFloat());
        }
        return new RankResult
        {
            Items = items,
            Strategy = map["strategy"].AsString(),
            Bucket = map["bucket"].IsNull ? null : map["bucket"].AsString(),
            Explanation = map["explanation"].AsString(),
            UnknownCandidates = map["unknown"].AsArray().Select(v => v.AsString()).ToArray(),
        };
    }

    private static string KindWord(EventKind kind) => kind switch
    {
        EventKind.View => "view",
        EventKind.Click => "click",
        EventKind.Like => "like",
        EventKind.Dislike => "dislike",
        EventKind.Purchase => "purchase",
        EventKind.Skip => "skip",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>A float32 little-endian blob reply as a vector.</summary>
    public static float[] DecodeVector(RespValue value)
    {
        var bytes = value.Bytes ?? throw new InvalidDataException($"expected a vector blob, got {value.Type}");
        if (bytes.Length % 4 != 0) throw new InvalidDataException($"vector blob of {bytes.Length} bytes is not a whole number of float32 values");
        var v = new float[bytes.Length / 4];
        for (int i = 0; i < v.Length; i++) v[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(i * 4));
        return v;
    }
}
