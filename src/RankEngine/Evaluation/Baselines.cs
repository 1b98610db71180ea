namespace RankEngine.Evaluation;

/// <summary>Popularity baseline: an item's score is the number of positive training interactions it has.</summary>
internal sealed class PopularityScores
{
    private readonly double[] _counts;

    public PopularityScores(int items, IReadOnlyList<EvalEvent> train)
    {
        _counts = new double[items];
        foreach (var e in train)
            if (e.Positive) _counts[e.Item]++;
    }

    public ReadOnlySpan<double> Scores => _counts;
}

/// <summary>
/// Item-based k-nearest-neighbour baseline over the binary users × items matrix of positive training interactions:
/// <c>sim(i, j) = |U_i ∩ U_j| / √(|U_i|·|U_j|)</c> (cosine of the item columns) and a user's score for j is
/// <c>Σ_{i ∈ P_u} sim(i, j)</c> over the user's positive items P_u (every neighbour counts; no truncation).
/// The item–item matrix is never built: the sum is regrouped by co-rating user v,
/// <c>score_j = Σ_v w_v·[j ∈ P_v]/√|U_j|</c> with <c>w_v = Σ_{i ∈ P_u ∩ P_v} 1/√|U_i|</c>, which costs
/// O(Σ_{i∈P_u} |U_i| + Σ_{v: w_v≠0} |P_v|) per user.
/// </summary>
internal sealed class ItemKnn
{
    private readonly int[] _userStart, _userItems, _itemStart, _itemUsers;
    private readonly double[] _invSqrtUsers; // 1/√|U_i|, 0 for items nobody liked

    public int Users { get; }
    public int Items { get; }

    public ItemKnn(int users, int items, IReadOnlyList<EvalEvent> train)
    {
        Users = users;
        Items = items;
        var pairs = new HashSet<(int, int)>();
        foreach (var e in train)
        {
            if ((uint)e.User >= (uint)users || (uint)e.Item >= (uint)items) throw new ArgumentException($"event ({e.User}, {e.Item}) is outside {users} users × {items} items");
            if (e.Positive) pairs.Add((e.User, e.Item));
        }
        (_userStart, _userItems) = Group(users, pairs, byUser: true);
        (_itemStart, _itemUsers) = Group(items, pairs, byUser: false);
        _invSqrtUsers = new double[items];
        for (int i = 0; i < items; i++)
        {
            int n = _itemStart[i + 1] - _itemStart[i];
            _invSqrtUsers[i] = n == 0 ? 0 : 1 / Math.Sqrt(n);
        }
    }

    private static (int[] Start, int[] Minor) Group(int majors, HashSet<(int User, int Item)> pairs, bool byUser)
    {
        var start = new int[majors + 1];
        foreach (var (u, i) in pairs) start[(byUser ? u : i) + 1]++;
        for (int m = 0; m < majors; m++) start[m + 1] += start[m];
        var fill = start.AsSpan(0, majors).ToArray();
        var minor = new int[pairs.Count];
        foreach (var (u, i) in pairs) minor[fill[byUser ? u : i]++] = byUser ? i : u;
        for (int m = 0; m < majors; m++) Array.Sort(minor, start[m], start[m + 1] - start[m]);
        return (start, minor);
    }

    /// <summary>The user's positive training items, ascending.</summary>
    public ReadOnlySpan<int> PositivesOf(int user) => _userItems.AsSpan(_userStart[user], _userStart[user + 1] - _userStart[user]);

    /// <summary>Cosine similarity of two item columns (0 when either has no positive).</summary>
    public double Similarity(int i, int j)
    {
        var a = _itemUsers.AsSpan(_itemStart[i], _itemStart[i + 1] - _itemStart[i]);
        var b = _itemUsers.AsSpan(_itemStart[j], _itemStart[j + 1] - _itemStart[j]);
        int common = 0;
        for (int x = 0, y = 0; x < a.Length && y < b.Length;)
        {
            if (a[x] == b[y]) { common++; x++; y++; }
            else if (a[x] < b[y]) x++;
            else y++;
        }
        return common * _invSqrtUsers[i] * _invSqrtUsers[j];
    }

    /// <summary>scores[j] = Σ_{i ∈ P_user} sim(i, j) for every item j. <paramref name="userWeights"/> is scratch of length Users.</summary>
    public void Score(int user, Span<double> scores, Span<double> userWeights) => Score(PositivesOf(user), scores, userWeights);

    /// <summary>scores[j] = Σ_{i ∈ profile} sim(i, j) for any set of items (distinct). <paramref name="userWeights"/> is scratch of length Users.</summary>
    public void Score(ReadOnlySpan<int> profile, Span<double> scores, Span<double> userWeights)
    {
        if (scores.Length != Items) throw new ArgumentException($"scores has {scores.Length} entries, expected {Items}");
        if (userWeights.Length != Users) throw new ArgumentException($"userWeights has {userWeights.Length} entries, expected {Users}");
        scores.Clear();
        userWeights.Clear();
        foreach (int i in profile)
        {
            double w = _invSqrtUsers[i];
            if (w == 0) continue;
            for (int k = _itemStart[i]; k < _itemStart[i + 1]; k++) userWeights[_itemUsers[k]] += w;
        }
        for (int v = 0; v < Users; v++)
        {
            double w = userWeights[v];
            if (w == 0) continue;
            for (int k = _userStart[v]; k < _userStart[v + 1]; k++)
            {
                int j = _userItems[k];
                scores[j] += w * _invSqrtUsers[j];
            }
        }
    }
}
