using RankEngine.Ranking;

namespace RankEngine.Server.Resp.Parser;

/// <summary>
/// RANK's arguments → <see cref="RankRequest"/>:
/// <c>RANK user [K k] [QUERY text] [CANDIDATES n id…] [DIVERSITY λ] [FILTER expr]… [BOOST field w]…
/// [CONTENT_WEIGHT w] [COLLAB_WEIGHT w] [EXCLUDE_SEEN]</c>. An empty user id means no user (cold start). Limits
/// (k ≤ <see cref="RankRequest.MaxK"/>, candidates, clauses, query length) are checked before anything is built.
/// </summary>
internal static class RankRequestParser
{
    public static RankRequest Parse(in ParseState args, ServerLimits limits)
    {
        string? user = args[1].IsEmpty ? null : Args.Id(args[1], "user id");
        int k = 10;
        string? query = null;
        string[]? candidates = null;
        float? diversity = null, contentWeight = null, collabWeight = null;
        List<ItemFilter>? filters = null;
        Dictionary<string, float>? boosts = null;
        bool excludeSeen = false;
        for (int i = 2; i < args.Count; i++)
        {
            var option = args[i];
            if (Args.Is(option, CmdStrings.ExcludeSeen))
            {
                excludeSeen = true;
                continue;
            }
            if (i + 1 >= args.Count) throw new RespCommandException(ErrorCode.BadArg, $"option '{Args.Preview(option)}' needs a value");
            var value = args[++i];
            if (Args.Is(option, CmdStrings.K))
            {
                k = Args.Int(value, "K");
                if (k <= 0) throw new RespCommandException(ErrorCode.BadArg, $"K must be at least 1, got {k}");
                if (k > RankRequest.MaxK) throw new RespCommandException(ErrorCode.TooLarge, $"K is {k}, the limit is {RankRequest.MaxK}");
            }
            else if (Args.Is(option, CmdStrings.Query)) query = Args.Text(value, "QUERY text", limits.MaxTextBytes);
            else if (Args.Is(option, CmdStrings.Candidates))
            {
                int n = Args.Int(value, "CANDIDATES count");
                if (n < 0) throw new RespCommandException(ErrorCode.BadArg, $"CANDIDATES count must not be negative, got {n}");
                if (n > limits.MaxCandidates) throw new RespCommandException(ErrorCode.TooLarge, $"CANDIDATES has {n} ids, the limit is {limits.MaxCandidates}");
                if (i + n >= args.Count) throw new RespCommandException(ErrorCode.BadArg, $"CANDIDATES announces {n} ids but {args.Count - i - 1} arguments follow");
                candidates = new string[n];
                for (int c = 0; c < n; c++) candidates[c] = Args.Id(args[i + 1 + c], "candidate id");
                i += n;
            }
            else if (Args.Is(option, CmdStrings.Diversity)) diversity = Args.Float(value, "DIVERSITY");
            else if (Args.Is(option, CmdStrings.ContentWeight)) contentWeight = Args.Float(value, "CONTENT_WEIGHT");
            else if (Args.Is(option, CmdStrings.CollabWeight)) collabWeight = Args.Float(value, "COLLAB_WEIGHT");
            else if (Args.Is(option, CmdStrings.Filter))
            {
                filters ??= new List<ItemFilter>();
                if (filters.Count >= limits.MaxClauses) throw new RespCommandException(ErrorCode.TooLarge, $"more than {limits.MaxClauses} FILTER clauses");
                filters.Add(ItemFilter.Parse(Args.Text(value, "FILTER expression", 4096)));
            }
            else if (Args.Is(option, CmdStrings.Boost))
            {
                if (i + 1 >= args.Count) throw new RespCommandException(ErrorCode.BadArg, "BOOST needs a field and a weight");
                boosts ??= new Dictionary<string, float>(StringComparer.Ordinal);
                if (boosts.Count >= limits.MaxClauses) throw new RespCommandException(ErrorCode.TooLarge, $"more than {limits.MaxClauses} BOOST clauses");
                string field = Args.Text(value, "BOOST field", RankEngine.Store.StoreLimits.MaxFieldNameBytes);
                if (field.Length == 0) throw new RespCommandException(ErrorCode.BadArg, "BOOST field is empty");
                boosts[field] = Args.Float(args[++i], $"BOOST weight of '{field}'");
            }
            else throw new RespCommandException(ErrorCode.BadArg, $"unknown RANK option '{Args.Preview(option)}'");
        }
        if (diversity is { } d && !(d >= 0 && d <= 1)) throw new RespCommandException(ErrorCode.BadArg, $"DIVERSITY must be in [0, 1], got {d}");
        return new RankRequest
        {
            UserId = user,
            K = k,
            QueryText = query,
            Candidates = candidates,
            Diversity = diversity,
            ContentWeight = contentWeight,
            CollabWeight = collabWeight,
            Filters = filters is null ? Array.Empty<ItemFilter>() : filters.ToArray(),
            Boosts = boosts,
            ExcludeSeen = excludeSeen,
        };
    }
}
