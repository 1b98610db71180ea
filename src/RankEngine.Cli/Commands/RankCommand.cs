using System.CommandLine;
using System.Globalization;
using RankEngine.Ranking;

namespace RankEngine.Cli.Commands;

/// <summary><c>rankengine rank --user ID -k 10</c>: recommendations with their score parts.</summary>
internal static class RankCommand
{
    public static Command Create()
    {
        var dataDir = EngineOptions.DataDir();
        var model = CommonOptions.Model();
        var backend = CommonOptions.Backend();
        var user = new Option<string?>("--user", "-u") { Description = "User to recommend for (unknown users get a cold-start ranking)." };
        var k = new Option<int>("-k", "--k") { Description = "How many items (1..4096).", DefaultValueFactory = _ => 10 };
        var query = new Option<string?>("--query", "-q") { Description = "Free-text query, combined with the user's profile." };
        var diversity = new Option<float?>("--diversity") { Description = "MMR diversity weight λ in [0, 1] (0 = relevance only)." };
        var filters = new Option<string[]>("--filter") { Description = "Item condition: field=value (string or tag), field>=x, field<=x. Repeatable.", Arity = ArgumentArity.ZeroOrMore, AllowMultipleArgumentsPerToken = false };
        var boosts = new Option<string[]>("--boost") { Description = "Numeric field boost: field=weight (e.g. popularity=0.001). Repeatable.", Arity = ArgumentArity.ZeroOrMore };
        var excludeSeen = new Option<bool>("--exclude-seen") { Description = "Leave out items the user already interacted with." };
        var contentWeight = new Option<float?>("--content-weight") { Description = "Weight of the encoder similarity (default 1)." };
        var collabWeight = new Option<float?>("--collab-weight") { Description = "Weight of the collaborative similarity (default 1)." };
        var candidates = new Option<string[]>("--candidates") { Description = "Rank only these item ids.", Arity = ArgumentArity.ZeroOrMore, AllowMultipleArgumentsPerToken = true };

        var command = new Command("rank", "Rank items for a user and/or a query; prints each item's score and its parts (content, collab, boosts).")
        {
            dataDir, model, backend, user, k, query, diversity, filters, boosts, excludeSeen, contentWeight, collabWeight, candidates,
        };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            var boostMap = new Dictionary<string, float>();
            foreach (var b in parse.GetValue(boosts) ?? Array.Empty<string>())
            {
                int eq = b.IndexOf('=');
                if (eq <= 0 || !float.TryParse(b[(eq + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out float w))
                    throw new ArgumentException($"--boost '{b}' is not of the form field=number");
                boostMap[b[..eq]] = w;
            }
            var request = new RankRequest
            {
                UserId = parse.GetValue(user),
                K = parse.GetValue(k),
                QueryText = parse.GetValue(query),
                Diversity = parse.GetValue(diversity),
                Filters = (parse.GetValue(filters) ?? Array.Empty<string>()).Select(ItemFilter.Parse).ToArray(),
                Boosts = boostMap,
                ExcludeSeen = parse.GetValue(excludeSeen),
                ContentWeight = parse.GetValue(contentWeight),
                CollabWeight = parse.GetValue(collabWeight),
                Candidates = parse.GetValue(candidates) is { Length: > 0 } c ? c : null,
            };
            using var engine = EngineOptions.Open(parse.GetValue(dataDir)!, parse.GetValue(model), parse.GetValue(backend)!, mustExist: true);
            var response = engine.Rank(request);
            // Fewer items than asked for: a filter may name a field no item has (a typo), which matches nothing silently.
            if (response.Items.Count < request.K)
                foreach (string field in FilterFields.Unknown(engine, request.Filters))
                    Console.Error.WriteLine($"warning: no item has a field '{field}', so --filter on it matches nothing");
            RankPrinter.Print(engine, response);
            return 0;
        }));
        return command;
    }
}

/// <summary>Prints a ranking as an aligned table with the item's title when it has one.</summary>
internal static class RankPrinter
{
    public static void Print(RankingEngine engine, RankResponse response)
    {
        Console.WriteLine($"# {response.Explanation}{(response.Bucket is null ? "" : $" (bucket: {response.Bucket})")}");
        if (response.UnknownCandidates.Count > 0)
            Console.WriteLine($"# unknown candidate ids skipped: {string.Join(", ", response.UnknownCandidates)}");
        Console.WriteLine($"{"#",3}  {"score",8}  {"content",8}  {"collab",8}  {"boosts",8}  item");
        for (int i = 0; i < response.Items.Count; i++)
        {
            var item = response.Items[i];
            string title = engine.TryGetItem(item.Id, out var record) && record!.Fields.TryGetValue("title", out var t) ? $"  {t.Text}" : "";
            Console.WriteLine($"{i + 1,3}  {item.Score,8:F4}  {item.Parts.Content,8:F4}  {item.Parts.Collab,8:F4}  {item.Parts.BoostTotal,8:F4}  {item.Id}{title}");
        }
    }
}

/// <summary>Which filter fields no item in the catalog has.</summary>
internal static class FilterFields
{
    public static List<string> Unknown(RankingEngine engine, IReadOnlyList<ItemFilter> filters)
    {
        var missing = new List<string>();
        foreach (var f in filters)
            if (!missing.Contains(f.Field)) missing.Add(f.Field);
        if (missing.Count == 0) return missing;
        missing.RemoveAll(engine.HasItemField);
        return missing;
    }
}
