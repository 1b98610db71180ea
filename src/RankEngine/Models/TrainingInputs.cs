using RankEngine.Catalog;
using RankEngine.Ranking;

namespace RankEngine.Models;

/// <summary>One catalog item as training reads it: id, content vector, popularity (if it has one) and its tags per value field.</summary>
internal sealed record TrainingItem(string Id, float[] Content, float? Popularity, IReadOnlyDictionary<string, IReadOnlyList<string>> Tags);

/// <summary>
/// Puts training's inputs in one canonical order, so the model depends on the data alone, never on where it lives:
/// users and items by id (ordinal). A single node with one catalog shard or many, and a cluster gathering them from
/// grains, train the same model from the same events.
/// </summary>
internal static class TrainingInputs
{
    /// <summary>One catalog row as training reads it (a single node's rows and a cluster's shard grains' alike).</summary>
    public static TrainingItem ItemOf(ShardSnapshot shard, int row, int contentSlot)
    {
        float? popularity = shard.TryGetNumber(row, RankParameterResolver.PopularityField, out double p) && double.IsFinite(p) ? (float)p : null;
        var tags = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var name in shard.ValueFieldNames)
            if (shard.TagsOf(row, name) is { } t) tags[name] = t;
        return new TrainingItem(shard.IdOf(row), shard.Vector(contentSlot, row).ToArray(), popularity, tags);
    }

    /// <summary>The users with events, by id.</summary>
    public static List<TrainingUser> Users(IEnumerable<TrainingUser> users)
    {
        var list = users.Where(u => u.Events.Count > 0).ToList();
        list.Sort((a, b) => string.CompareOrdinal(a.Id, b.Id));
        return list;
    }

    /// <summary>
    /// The training catalog of these items, by id, with the main tag field: the value field most items have tags in,
    /// at least half of them (ties: the first name in ordinal order), for diversity by metadata.
    /// </summary>
    public static TrainingCatalog Catalog(IReadOnlyList<TrainingItem> items, int dimension)
    {
        var sorted = items.ToArray();
        Array.Sort(sorted, (a, b) => string.CompareOrdinal(a.Id, b.Id));
        var ids = new string[sorted.Length];
        var content = new float[sorted.Length * dimension];
        var popularity = new float[sorted.Length];
        bool anyPopularity = false;
        var counts = new SortedDictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < sorted.Length; i++)
        {
            var item = sorted[i];
            ids[i] = item.Id;
            item.Content.AsSpan(0, dimension).CopyTo(content.AsSpan(i * dimension, dimension));
            if (item.Popularity is { } p && float.IsFinite(p))
            {
                popularity[i] = p;
                anyPopularity = true;
            }
            foreach (var name in item.Tags.Keys) counts[name] = counts.GetValueOrDefault(name) + 1;
        }
        string? tagField = null;
        int best = 0;
        foreach (var (name, count) in counts)
            if (count * 2 >= sorted.Length && count > best) { best = count; tagField = name; }
        IReadOnlyList<string>?[]? tags = null;
        if (tagField is not null)
        {
            tags = new IReadOnlyList<string>?[sorted.Length];
            for (int i = 0; i < sorted.Length; i++) tags[i] = sorted[i].Tags.GetValueOrDefault(tagField);
        }
        return new TrainingCatalog(ids, content, dimension, anyPopularity ? popularity : null) { TagField = tagField, Tags = tags };
    }
}
