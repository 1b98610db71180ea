using RankEngine.Catalog;
using RankEngine.Ranking;
using RankEngine.Store;

namespace RankEngine.Tests.Catalog;

/// <summary>Builds catalogs the way the store feeds them (encoded item values) and ranks through the one path.</summary>
internal static class CatalogKit
{
    public static StoreSchema Schema(int content, int collab) =>
        collab > 0 ? new StoreSchema(new VectorSpec("content", content), new VectorSpec("collab", collab)) : new StoreSchema(new VectorSpec("content", content));

    /// <summary>Writes an item (content normalised, as the engine does) into the catalog through its encoded value.</summary>
    public static void Put(ShardedCatalog catalog, string id, float[]? content, float[]? collab = null, params (string Name, FieldValue Value)[] fields)
    {
        var item = new ItemRecord(id);
        if (content is not null) item.Vectors["content"] = Unit(content);
        if (collab is not null) item.Vectors["collab"] = collab;
        foreach (var (name, value) in fields) item.Fields[name] = value;
        var bytes = ItemCodec.Encode(item, catalog.Schema, out int length);
        catalog.Upsert(id, bytes.AsSpan(0, length));
    }

    public static float[] Unit(float[] v)
    {
        double n = Math.Sqrt(v.Sum(x => (double)x * x));
        return n == 0 ? v : v.Select(x => (float)(x / n)).ToArray();
    }

    /// <summary>Ranks one snapshot of the catalog (collab query against collab vectors, no model).</summary>
    public static RankedItem[] Rank(ShardedCatalog catalog, float[]? content, float[]? collab = null, RankingParameters? p = null,
        IReadOnlyList<ItemFilter>? filters = null, IReadOnlyList<string>? candidates = null, IReadOnlyCollection<string>? excluded = null, int k = 10,
        CatalogSnapshot? snapshot = null)
    {
        p ??= RankingParameters.Default;
        snapshot ??= catalog.Snapshot();
        var query = Query(content, collab, p, filters, candidates, excluded);
        int collabSlot = catalog.Schema.TryGetSlot("collab", out int c) ? c : -1;
        return CatalogRanker.Rank(snapshot, new ShardFactors?[snapshot.Shards.Count], query,
            new CatalogRanker.Diversity(p.Diversity, default, null), k, 0, collabSlot);
    }

    public static ShardQuery Query(float[]? content, float[]? collab, RankingParameters p, IReadOnlyList<ItemFilter>? filters = null,
        IReadOnlyList<string>? candidates = null, IReadOnlyCollection<string>? excluded = null) => new()
    {
        Content = content ?? [],
        ContentWeight = p.ContentWeight,
        Second = collab ?? [],
        SecondWeight = p.CollabWeight,
        Boosts = p.Boosts.ToList(),
        Filters = filters ?? [],
        Candidates = candidates,
        Excluded = excluded,
    };
}
