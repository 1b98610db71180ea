using RankEngine.Ranking;
using RankEngine.Server.Resp.Parser;

namespace RankEngine.Server.Resp;

/// <summary>Ranking commands: RANK, SCORE. Both answer the same map (see docs/protocol.md).</summary>
internal sealed partial class RespSession
{
    private void NetworkRank(in ParseState args, ref RespWriter writer)
    {
        var request = RankRequestParser.Parse(args, _limits);
        long cost = RequestCost(request.K, request.Diversity ?? 0, _engine.ContentDimension + _engine.CollabDimension);
        if (cost > _limits.MaxRequestCost)
            throw new RespCommandException(ErrorCode.TooLarge,
                $"RANK K {request.K}{(request.Diversity > 0 ? " with DIVERSITY" : "")} would cost {cost} multiply-adds, the limit is {_limits.MaxRequestCost} (lower K or drop DIVERSITY)");
        WriteRanking(ref writer, _engine.Rank(request));
    }

    /// <summary>
    /// Work a RANK asks for beyond the catalog scan, in multiply-adds: MMR compares each of the k picks with the
    /// engine's pool (<see cref="RankEngine.Ranking.Mmr.PoolSize"/>) over every vector dimension; without diversity, k rows.
    /// </summary>
    internal static long RequestCost(int k, float diversity, int dimension)
    {
        long pool = diversity > 0 ? RankEngine.Ranking.Mmr.PoolSize(k) : 1;
        return k * pool * Math.Max(1, dimension);
    }

    /// <summary>SCORE user id…: every known id scored for the user, best first (no cut, no diversity).</summary>
    private void NetworkScore(in ParseState args, ref RespWriter writer)
    {
        string user = Args.Id(args[1], "user id");
        int n = args.Count - 2;
        if (n > _limits.MaxCandidates) throw new RespCommandException(ErrorCode.TooLarge, $"SCORE has {n} ids, the limit is {_limits.MaxCandidates}");
        var ids = new string[n];
        for (int i = 0; i < n; i++) ids[i] = Args.Id(args[2 + i], "item id");
        WriteRanking(ref writer, _engine.Score(user, ids));
    }

    /// <summary>
    /// The ranking map: items → [[id, score, content, collab, boosts]…] (numbers as doubles in RESP3, decimal bulk
    /// strings in RESP2, each the shortest text that parses back to the engine's float), strategy, bucket (or
    /// null), explanation, unknown → candidate ids not in the catalog. Only when part of a cluster's catalog did
    /// not answer, a sixth entry: coverage → [fraction answered, [missing shard indices…]].
    /// </summary>
    private static void WriteRanking(ref RespWriter writer, RankResponse response)
    {
        var coverage = response.Coverage;
        writer.WriteMapHeader(coverage.IsComplete ? 5 : 6);
        writer.WriteBulk(CmdStrings.Items);
        writer.WriteArrayHeader(response.Items.Count);
        foreach (var item in response.Items)
        {
            writer.WriteArrayHeader(5);
            writer.WriteBulk(item.Id);
            writer.WriteFloat(item.Score);
            writer.WriteFloat(item.Parts.Content);
            writer.WriteFloat(item.Parts.Collab);
            writer.WriteFloat(item.Parts.BoostTotal);
        }
        writer.WriteBulk(CmdStrings.Strategy);
        writer.WriteBulk(response.Strategy switch
        {
            RankStrategy.Personalized => CmdStrings.Personalized,
            RankStrategy.QueryOnly => CmdStrings.QueryOnly,
            _ => CmdStrings.Popularity,
        });
        writer.WriteBulk(CmdStrings.Bucket);
        writer.WriteBulkOrNull(response.Bucket);
        writer.WriteBulk(CmdStrings.Explanation);
        writer.WriteBulk(response.Explanation);
        writer.WriteBulk(CmdStrings.Unknown);
        writer.WriteArrayHeader(response.UnknownCandidates.Count);
        foreach (var id in response.UnknownCandidates) writer.WriteBulk(id);
        if (coverage.IsComplete) return;
        writer.WriteBulk(CmdStrings.Coverage);
        writer.WriteArrayHeader(2);
        writer.WriteFloat((float)coverage.Fraction);
        writer.WriteArrayHeader(coverage.MissingShards.Count);
        foreach (int shard in coverage.MissingShards) writer.WriteInteger(shard);
    }
}
