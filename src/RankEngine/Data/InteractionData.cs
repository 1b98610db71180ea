using System.Globalization;
using System.Text;
using System.Text.Json;
using RankEngine.Ranking;
using RankEngine.Store;

namespace RankEngine.Data;

/// <summary>An item to put in the catalog: its id, the text the encoder sees, and typed fields for filters and boosts.</summary>
internal sealed record CatalogItem(string Id, string Text, ItemFields Fields);

/// <summary>One interaction from an events file (or a MovieLens rating).</summary>
/// <param name="UserId">The user.</param>
/// <param name="ItemId">The item.</param>
/// <param name="Kind">What happened; from the file's kind, else from the rating by <see cref="RatingMapping"/>.</param>
/// <param name="Weight">Multiplier on the kind's weight (<see cref="UserEvent.Weight"/>); 1 unless the file says.</param>
/// <param name="Rating">The explicit rating when the file has one, else null.</param>
/// <param name="Timestamp">Unix seconds (0 when the file has no timestamp column).</param>
internal readonly record struct InteractionEvent(string UserId, string ItemId, UserEventKind Kind, float Weight, float? Rating, long Timestamp)
{
    /// <summary>The event as the store keeps it (timestamps in milliseconds).</summary>
    public UserEvent ToUserEvent() => new(ItemId, Kind, Weight, Timestamp * 1000);
}

/// <summary>
/// How explicit ratings become feedback kinds: rating ≥ <see cref="LikeAtLeast"/> is a like, rating ≤
/// <see cref="DislikeAtMost"/> a dislike, anything between a view (the user watched it, without a strong opinion).
/// The defaults suit MovieLens' 0.5–5 star scale: 4 and above is the usual "relevant" threshold.
/// </summary>
internal sealed record RatingMapping
{
    public float LikeAtLeast { get; init; } = 4.0f;
    public float DislikeAtMost { get; init; } = 2.0f;

    public static RatingMapping Default { get; } = new();

    public UserEventKind KindOf(float rating) =>
        rating >= LikeAtLeast ? UserEventKind.Like : rating <= DislikeAtMost ? UserEventKind.Dislike : UserEventKind.View;

    /// <summary>True for ratings that count as relevant (a like).</summary>
    public bool IsPositive(float rating) => rating >= LikeAtLeast;
}

/// <summary>
/// Items and interaction events to ingest or evaluate, from either source RankEngine accepts:
/// <list type="bullet">
/// <item>a MovieLens dataset (.zip or extracted directory; see <see cref="MovieLensDataset"/>): items are movies with
/// <see cref="MovieLensDataset.ItemText"/> as text and fields <c>title</c> (string), <c>year</c> (number),
/// <c>genres</c> and <c>tags</c> (tag sets); events are ratings mapped to kinds by <see cref="RatingMapping"/>;</item>
/// <item>an items file plus an optional events file, each CSV (header line required) or JSONL (one JSON object per
/// line; extension .jsonl, .ndjson or .json).</item>
/// </list>
/// Items: <c>id</c> (required; also <c>item</c>, <c>itemId</c>, <c>item_id</c>); text from <c>text</c>, else from
/// <c>title</c> (one of them required); every other column/property is a field. In CSV a column whose non-empty
/// values all parse as numbers is numeric, one with a '|' in any value is a tag set (split on '|'), otherwise it is a
/// string; in JSONL numbers, strings and arrays of strings map to the same three types, given as top-level properties
/// or inside a nested <c>"fields": { … }</c> object. Empty values are left out.
/// Events: <c>user</c> (also <c>userId</c>, <c>user_id</c>), <c>item</c> (also <c>itemId</c>, <c>item_id</c>,
/// <c>movieId</c>), and <c>kind</c> (view, click, like, dislike, purchase, skip) and/or <c>rating</c> (mapped to a kind
/// when there is no kind); optional <c>weight</c> (≥ 0, default 1) and <c>timestamp</c> (unix seconds or an ISO 8601
/// date; default 0). An event naming an item not in the items file, a duplicate item id, or an unparsable value is a
/// <see cref="DataFormatException"/> naming file and line.
/// </summary>
internal sealed class InteractionData
{
    public IReadOnlyList<CatalogItem> Items { get; }
    public IReadOnlyList<InteractionEvent> Events { get; }
    /// <summary>Where the data came from, for messages.</summary>
    public string Source { get; }

    public InteractionData(IReadOnlyList<CatalogItem> items, IReadOnlyList<InteractionEvent> events, string source)
    {
        Items = items;
        Events = events;
        Source = source;
    }

    /// <summary>
    /// Loads a MovieLens zip/directory (<paramref name="eventsPath"/> must then be null), or an items file with an
    /// optional events file (CSV or JSONL, by extension).
    /// </summary>
    public static InteractionData Load(string path, string? eventsPath = null, RatingMapping? mapping = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path) && !Directory.Exists(path)) throw new FileNotFoundException($"data '{path}' does not exist");
        if (MovieLensDataset.LooksLikeMovieLens(path))
        {
            if (eventsPath is not null) throw new ArgumentException($"'{path}' is a MovieLens dataset, which brings its own ratings: give no separate events file");
            return FromMovieLens(MovieLensDataset.Load(path), mapping);
        }
        if (Directory.Exists(path)) throw new ArgumentException($"'{path}' is a directory without movies.csv: give an items file (.csv or .jsonl) instead");
        var items = ReadItems(path);
        if (eventsPath is null) return new InteractionData(items, Array.Empty<InteractionEvent>(), path);
        var known = new HashSet<string>(items.Count, StringComparer.Ordinal);
        foreach (var item in items) known.Add(item.Id);
        return new InteractionData(items, ReadEvents(eventsPath, mapping, known), $"{path} + {eventsPath}");
    }

    /// <summary>Movies as items, ratings as events (kinds by <paramref name="mapping"/>).</summary>
    public static InteractionData FromMovieLens(MovieLensDataset data, RatingMapping? mapping = null, int maxTags = MovieLensDataset.DefaultMaxTags)
    {
        mapping ??= RatingMapping.Default;
        var items = new CatalogItem[data.Movies.Count];
        for (int i = 0; i < items.Length; i++)
        {
            var m = data.Movies[i];
            var numbers = new Dictionary<string, double>();
            if (m.Year is int y) numbers["year"] = y;
            var fields = new ItemFields
            {
                Numbers = numbers,
                Strings = new Dictionary<string, string> { ["title"] = MovieLensDataset.DisplayTitle(m.Title) },
                Tags = new Dictionary<string, IReadOnlyList<string>> { ["genres"] = m.Genres, ["tags"] = m.Tags },
            };
            items[i] = new CatalogItem(m.Id.ToString(CultureInfo.InvariantCulture), MovieLensDataset.ItemText(m, maxTags), fields);
        }
        var events = new InteractionEvent[data.Ratings.Count];
        for (int i = 0; i < events.Length; i++)
        {
            var r = data.Ratings[i];
            events[i] = new InteractionEvent(r.UserId.ToString(CultureInfo.InvariantCulture), r.MovieId.ToString(CultureInfo.InvariantCulture),
                mapping.KindOf(r.Rating), 1f, r.Rating, r.Timestamp);
        }
        return new InteractionData(items, events, data.Source);
    }

    private enum FileKind { Csv, JsonLines }

    private static FileKind KindOf(string path)
    {
        string ext = Path.GetExtension(path).ToLowerInvariant();
        return ext switch
        {
            ".csv" => FileKind.Csv,
            ".jsonl" or ".ndjson" or ".json" => FileKind.JsonLines,
            _ => throw new ArgumentException($"'{path}': unknown data file type '{ext}' (expected .csv, .jsonl, .ndjson or .json, or a MovieLens .zip)"),
        };
    }

    private static void RequireFile(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"data file '{path}' does not exist");
    }

    // ---------------------------------------------------------------- items

    /// <summary>Reads an items file (CSV or JSONL; see the class remarks for the columns).</summary>
    public static IReadOnlyList<CatalogItem> ReadItems(string path)
    {
        var kind = KindOf(path);
        RequireFile(path);
        return kind == FileKind.Csv ? ReadItemsCsv(path) : ReadItemsJsonLines(path);
    }

    private static readonly string[] IdNames = { "id", "item", "itemId", "item_id" };

    private static List<CatalogItem> ReadItemsCsv(string path)
    {
        using var csv = CsvReader.OpenFile(path);
        var header = CsvHeader.Read(csv);
        int idCol = header.Require(csv, IdNames);
        int textCol = header.Find("text"), titleCol = header.Find("title");
        if (textCol < 0 && titleCol < 0) header.Require(csv, "text", "title");
        var rows = new List<(string[] Fields, long Line)>();
        var fields = new List<string>();
        while (csv.ReadRecord(fields))
        {
            if (fields.Count != header.Names.Count)
                throw csv.Error($"expected {header.Names.Count} fields ({string.Join(",", header.Names)}), found {fields.Count}");
            rows.Add((fields.ToArray(), csv.RecordLine));
        }
        // Column types need every value: numeric if all non-empty values parse, tags if any holds '|', else string.
        var types = new char[header.Names.Count];
        for (int c = 0; c < types.Length; c++)
        {
            if (c == idCol || c == textCol) continue;
            bool numeric = true, tags = false, any = false;
            foreach (var (row, _) in rows)
            {
                string v = row[c].Trim();
                if (v.Length == 0) continue;
                any = true;
                numeric &= TryNumber(v, out _);
                tags |= v.Contains('|');
            }
            types[c] = any && numeric ? 'n' : tags ? 't' : 's';
        }
        var items = new List<CatalogItem>(rows.Count);
        var seen = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (row, line) in rows)
        {
            string id = row[idCol].Trim();
            if (id.Length == 0) throw new DataFormatException(csv.SourceName, line, "the item id is empty");
            if (!seen.TryAdd(id, line)) throw new DataFormatException(csv.SourceName, line, $"item '{id}' was already defined on line {seen[id]}");
            var numbers = new Dictionary<string, double>();
            var strings = new Dictionary<string, string>();
            var tagSets = new Dictionary<string, IReadOnlyList<string>>();
            for (int c = 0; c < row.Length; c++)
            {
                if (c == idCol || c == textCol) continue;
                string v = row[c].Trim();
                if (v.Length == 0) continue;
                string name = header.Names[c];
                switch (types[c])
                {
                    case 'n': TryNumber(v, out double x); numbers[name] = x; break;
                    case 't': tagSets[name] = v.Split('|', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries); break;
                    default: strings[name] = v; break;
                }
            }
            string text = textCol >= 0 ? row[textCol].Trim() : row[titleCol].Trim();
            items.Add(new CatalogItem(id, text, new ItemFields { Numbers = numbers, Strings = strings, Tags = tagSets }));
        }
        return items;
    }

    private static List<CatalogItem> ReadItemsJsonLines(string path)
    {
        string source = Path.GetFileName(path);
        var items = new List<CatalogItem>();
        var seen = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (root, line) in JsonLines(path))
        {
            string? id = null, text = null, title = null;
            var numbers = new Dictionary<string, double>();
            var strings = new Dictionary<string, string>();
            var tagSets = new Dictionary<string, IReadOnlyList<string>>();
            void Field(JsonProperty p, bool nested)
            {
                if (p.Value.ValueKind == JsonValueKind.Null) return;
                if (numbers.ContainsKey(p.Name) || strings.ContainsKey(p.Name) || tagSets.ContainsKey(p.Name))
                    throw new DataFormatException(source, line, $"field '{p.Name}' is given twice (at the top level and in 'fields'?)");
                switch (p.Value.ValueKind)
                {
                    case JsonValueKind.Number:
                        if (!p.Value.TryGetDouble(out double x) || !double.IsFinite(x))
                            throw new DataFormatException(source, line, $"field '{p.Name}' is not a finite number");
                        numbers[p.Name] = x;
                        break;
                    case JsonValueKind.String:
                        string s = p.Value.GetString()!.Trim();
                        if (!nested && p.NameEquals("text")) text = s;
                        else
                        {
                            if (p.NameEquals("title")) title ??= s;
                            if (s.Length > 0) strings[p.Name] = s;
                        }
                        break;
                    case JsonValueKind.Array:
                        var list = new List<string>();
                        foreach (var e in p.Value.EnumerateArray())
                        {
                            if (e.ValueKind != JsonValueKind.String)
                                throw new DataFormatException(source, line, $"field '{p.Name}': a list field must hold strings only, found {e.ValueKind}");
                            string t = e.GetString()!.Trim();
                            if (t.Length > 0) list.Add(t);
                        }
                        tagSets[p.Name] = list;
                        break;
                    default:
                        throw new DataFormatException(source, line, $"field '{p.Name}' is a {p.Value.ValueKind}; fields must be numbers, strings or lists of strings");
                }
            }
            foreach (var p in root.EnumerateObject())
            {
                if (Is(p.Name, IdNames)) { id = IdValue(p.Value, source, line, p.Name); continue; }
                // {"id": …, "text": …, "fields": {"year": 1999, "genres": ["Drama"]}}: the nested object holds the fields.
                if (p.NameEquals("fields") && p.Value.ValueKind == JsonValueKind.Object)
                {
                    foreach (var f in p.Value.EnumerateObject()) Field(f, nested: true);
                    continue;
                }
                Field(p, nested: false);
            }
            if (id is null) throw new DataFormatException(source, line, "the item has no 'id'");
            if (!seen.TryAdd(id, line)) throw new DataFormatException(source, line, $"item '{id}' was already defined on line {seen[id]}");
            text ??= title ?? throw new DataFormatException(source, line, $"item '{id}' has neither 'text' nor 'title'");
            items.Add(new CatalogItem(id, text, new ItemFields { Numbers = numbers, Strings = strings, Tags = tagSets }));
        }
        return items;
    }

    // ---------------------------------------------------------------- events

    private static readonly string[] UserNames = { "user", "userId", "user_id" };
    private static readonly string[] ItemNames = { "item", "itemId", "item_id", "movieId" };
    private static readonly string[] TimeNames = { "timestamp", "time", "ts" };

    /// <summary>
    /// Reads an events file (CSV or JSONL; see the class remarks). When <paramref name="knownItems"/> is given, an
    /// event naming another item is an error.
    /// </summary>
    public static IReadOnlyList<InteractionEvent> ReadEvents(string path, RatingMapping? mapping = null, IReadOnlySet<string>? knownItems = null)
    {
        var kind = KindOf(path);
        RequireFile(path);
        mapping ??= RatingMapping.Default;
        return kind == FileKind.Csv ? ReadEventsCsv(path, mapping, knownItems) : ReadEventsJsonLines(path, mapping, knownItems);
    }

    private static List<InteractionEvent> ReadEventsCsv(string path, RatingMapping mapping, IReadOnlySet<string>? known)
    {
        using var csv = CsvReader.OpenFile(path);
        var header = CsvHeader.Read(csv);
        int userCol = header.Require(csv, UserNames), itemCol = header.Require(csv, ItemNames);
        int kindCol = header.Find("kind"), ratingCol = header.Find("rating");
        if (kindCol < 0 && ratingCol < 0) header.Require(csv, "kind", "rating");
        int weightCol = header.Find("weight"), timeCol = header.Find(TimeNames);
        var events = new List<InteractionEvent>();
        var fields = new List<string>();
        while (csv.ReadRecord(fields))
        {
            if (fields.Count != header.Names.Count)
                throw csv.Error($"expected {header.Names.Count} fields ({string.Join(",", header.Names)}), found {fields.Count}");
            string? Cell(int c) => c < 0 || fields[c].Trim().Length == 0 ? null : fields[c].Trim();
            events.Add(MakeEvent(csv.SourceName, csv.RecordLine, mapping, known, Cell(userCol), Cell(itemCol), Cell(kindCol),
                Cell(ratingCol), Cell(weightCol), timeCol < 0 ? null : Cell(timeCol) ?? throw csv.Error("the timestamp is empty")));
        }
        return events;
    }

    private static List<InteractionEvent> ReadEventsJsonLines(string path, RatingMapping mapping, IReadOnlySet<string>? known)
    {
        string source = Path.GetFileName(path);
        var events = new List<InteractionEvent>();
        foreach (var (root, line) in JsonLines(path))
        {
            string? user = null, item = null, kind = null, rating = null, weight = null, time = null;
            foreach (var p in root.EnumerateObject())
            {
                if (p.Value.ValueKind == JsonValueKind.Null) continue;
                if (Is(p.Name, UserNames)) user = IdValue(p.Value, source, line, p.Name);
                else if (Is(p.Name, ItemNames)) item = IdValue(p.Value, source, line, p.Name);
                else if (p.NameEquals("kind")) kind = Scalar(p.Value, source, line, p.Name);
                else if (p.NameEquals("rating")) rating = Scalar(p.Value, source, line, p.Name);
                else if (p.NameEquals("weight")) weight = Scalar(p.Value, source, line, p.Name);
                else if (Is(p.Name, TimeNames)) time = Scalar(p.Value, source, line, p.Name);
            }
            events.Add(MakeEvent(source, line, mapping, known, user, item, kind, rating, weight, time));
        }
        return events;
    }

    private static InteractionEvent MakeEvent(string source, long line, RatingMapping mapping, IReadOnlySet<string>? known,
        string? user, string? item, string? kindText, string? ratingText, string? weightText, string? timeText)
    {
        if (user is null) throw new DataFormatException(source, line, "the event has no user");
        if (item is null) throw new DataFormatException(source, line, "the event has no item");
        if (known is not null && !known.Contains(item)) throw new DataFormatException(source, line, $"item '{item}' is not in the items file");
        float? rating = null;
        if (ratingText is not null)
        {
            if (!TryNumber(ratingText, out double r)) throw new DataFormatException(source, line, $"rating '{ratingText}' is not a number");
            rating = (float)r;
        }
        UserEventKind kind;
        if (kindText is not null)
        {
            if (!EventWeights.TryParseKind(kindText, out kind) || int.TryParse(kindText, out _))
                throw new DataFormatException(source, line, $"unknown event kind '{kindText}' (expected view, click, like, dislike, purchase or skip)");
        }
        else if (rating is float rv) kind = mapping.KindOf(rv);
        else throw new DataFormatException(source, line, "the event has neither a kind nor a rating");
        float weight = 1f;
        if (weightText is not null)
        {
            if (!TryNumber(weightText, out double w) || w < 0) throw new DataFormatException(source, line, $"weight '{weightText}' is not a number ≥ 0");
            weight = (float)w;
        }
        long time = 0;
        if (timeText is not null && !TryTimestamp(timeText, out time))
            throw new DataFormatException(source, line, $"timestamp '{timeText}' is neither unix seconds nor an ISO 8601 date");
        return new InteractionEvent(user, item, kind, weight, rating, time);
    }

    // ---------------------------------------------------------------- helpers

    private static IEnumerable<(JsonElement Root, long Line)> JsonLines(string path)
    {
        string source = Path.GetFileName(path);
        using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        long line = 0;
        while (reader.ReadLine() is { } text)
        {
            line++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            JsonDocument doc;
            try
            {
                doc = JsonDocument.Parse(text);
            }
            catch (JsonException e)
            {
                throw new DataFormatException(source, line, $"not valid JSON ({e.Message})", e);
            }
            using (doc)
            {
                if (doc.RootElement.ValueKind != JsonValueKind.Object)
                    throw new DataFormatException(source, line, $"expected one JSON object per line, found {doc.RootElement.ValueKind}");
                yield return (doc.RootElement, line);
            }
        }
    }

    private static bool Is(string name, string[] names)
    {
        foreach (var n in names)
            if (string.Equals(name, n, StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }

    private static string IdValue(JsonElement v, string source, long line, string name)
    {
        string? id = v.ValueKind switch
        {
            JsonValueKind.String => v.GetString()!.Trim(),
            JsonValueKind.Number when v.TryGetInt64(out long n) => n.ToString(CultureInfo.InvariantCulture),
            _ => null,
        };
        if (string.IsNullOrEmpty(id)) throw new DataFormatException(source, line, $"'{name}' must be a non-empty string or an integer");
        return id;
    }

    private static string Scalar(JsonElement v, string source, long line, string name) => v.ValueKind switch
    {
        JsonValueKind.String => v.GetString()!.Trim(),
        JsonValueKind.Number => v.GetRawText(),
        _ => throw new DataFormatException(source, line, $"'{name}' must be a string or a number, found {v.ValueKind}"),
    };

    private static bool TryNumber(string text, out double value) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);

    private static bool TryTimestamp(string text, out long seconds)
    {
        if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out seconds)) return true;
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && double.IsFinite(d)
            && Math.Abs(d) < 1e15)
        {
            seconds = (long)Math.Floor(d);
            return true;
        }
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date))
        {
            seconds = date.ToUnixTimeSeconds();
            return true;
        }
        return false;
    }
}
