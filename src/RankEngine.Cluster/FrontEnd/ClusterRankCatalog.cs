using RankEngine.Catalog;
using RankEngine.Ranking;

namespace RankEngine.Cluster;

/// <summary>
/// The cluster's catalog for one RANK: every shard grain searches its slice with the single node's shard search and
/// returns its top K with their score parts (and vectors and tags when MMR needs them); the front end cuts with the
/// single node's merge and diversifies with its MMR. A shard that fails or misses the deadline is left out and the
/// coverage says so; its items are never in the answer.
/// </summary>
/// <param name="catalog">The coordinator over the shard grains.</param>
/// <param name="contentDimension">Width of content vectors.</param>
/// <param name="modelVersion">The model the request was planned with (0: none); every shard scores with exactly that version.</param>
/// <param name="coldContent">Content vectors of the user's items the model does not know (fetched before planning).</param>
internal sealed class ClusterRankCatalog(ClusterCatalog catalog, int contentDimension, long modelVersion = 0,
    IReadOnlyDictionary<string, float[]>? coldContent = null) : IRankCatalog
{
    private readonly Dictionary<int, HashSet<string>> _unknownByShard = [];
    private CatalogCoverage _coverage = CatalogCoverage.Full;

    public CatalogCoverage Coverage => _coverage;

    public ReadOnlyMemory<float> ContentOf(string id) =>
        coldContent is not null && coldContent.TryGetValue(id, out var v) ? v : ReadOnlyMemory<float>.Empty;

    public RankedItem[] Rank(ShardQuery query, CatalogRanker.Diversity diversity, int k)
    {
        if (query.SecondIsModel && modelVersion == 0) throw new InvalidOperationException("a model query needs the model's version");
        bool diversify = diversity.Lambda > 0;
        int poolK = diversify ? Mmr.PoolSize(k) : k;
        var shared = new ClusterQuery
        {
            Content = query.Content.ToArray(),
            ContentWeight = query.ContentWeight,
            Collab = query.Second.ToArray(),
            CollabWeight = query.SecondWeight,
            Excluded = query.Excluded is null ? null : [.. query.Excluded],
            K = poolK,
            Boosts = [.. query.Boosts.Select(b => new ClusterBoost(b.Key, b.Value))],
            Filters = [.. query.Filters.Select(ClusterFilter.From)],
            WithVectors = diversify,
            ModelVersion = query.SecondIsModel ? modelVersion : 0,
            TagField = diversify ? diversity.TagField : null,
        };
        // Each shard scores only the candidates it owns (the single node's placement).
        string[][]? candidatesOf = null;
        if (query.Candidates is { } candidates)
        {
            var lists = new List<string>[catalog.ShardCount];
            for (int s = 0; s < lists.Length; s++) lists[s] = [];
            foreach (var id in candidates)
                if (id is not null) lists[catalog.ShardOf(id)].Add(id);
            candidatesOf = [.. lists.Select(l => l.ToArray())];
        }
        // The RESP session runs a command to its end on its thread: it waits here for the shards.
        var answers = catalog.RankShardsAsync(s => candidatesOf is null ? shared : shared with { Candidates = candidatesOf[s] }).GetAwaiter().GetResult();

        var pool = new List<(int Shard, ShardHit Hit)>();
        var where = new Dictionary<(int Shard, int Row), int>();
        var missing = new List<int>();
        for (int s = 0; s < answers.Length; s++)
        {
            if (answers[s].Answer is not { } answer)
            {
                missing.Add(s);
                continue;
            }
            _unknownByShard[s] = [.. answer.UnknownCandidates];
            for (int i = 0; i < answer.Hits.Length; i++)
            {
                var h = answer.Hits[i];
                pool.Add((s, new ShardHit(h.Row, h.Id, h.Score)));
                where[(s, h.Row)] = i;
            }
        }
        _coverage = missing.Count == 0 ? CatalogCoverage.Full : new CatalogCoverage(catalog.ShardCount, catalog.ShardCount - missing.Count, missing);
        CatalogRanker.MergeTopK(pool, poolK);

        int d = contentDimension;
        var order = CatalogRanker.Choose(pool, k, diversity, d,
            (i, destination) => answers[pool[i].Shard].Answer!.Vectors.AsSpan(where[(pool[i].Shard, pool[i].Hit.Row)] * d, d).CopyTo(destination),
            i => answers[pool[i].Shard].Answer!.Tags[where[(pool[i].Shard, pool[i].Hit.Row)]]);
        var items = new RankedItem[order.Length];
        int boosts = query.Boosts.Count;
        for (int j = 0; j < order.Length; j++)
        {
            var (shard, hit) = pool[order[j]];
            var answer = answers[shard].Answer!;
            int at = where[(shard, hit.Row)];
            var parts = (answer.ContentParts[at], answer.SecondParts[at], answer.BoostParts.AsSpan(at * boosts, boosts).ToArray());
            items[j] = CatalogRanker.Explained(hit, parts, query);
        }
        return items;
    }

    public List<string> UnknownCandidates(IReadOnlyList<string>? candidates)
    {
        var unknown = new List<string>();
        if (candidates is null) return unknown;
        foreach (var id in candidates)
        {
            if (id is null) unknown.Add("(null)");
            // A missing shard cannot say: its candidates are not reported unknown (the coverage says the shard was not asked).
            else if (_unknownByShard.TryGetValue(catalog.ShardOf(id), out var set) && set.Contains(id)) unknown.Add(id);
        }
        return unknown;
    }
}
