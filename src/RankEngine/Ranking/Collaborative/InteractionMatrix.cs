namespace RankEngine.Ranking.Collaborative;

/// <summary>One observed user–item interaction with its strength r (e.g. a count, or 1 for "seen").</summary>
internal readonly record struct Interaction(int User, int Item, float Strength);

/// <summary>
/// A sparse users × items matrix of interaction strengths, kept both by user (CSR) and by item (CSC) so ALS can
/// sweep either side. Duplicate (user, item) pairs are summed. Within a row, entries are sorted by column.
/// </summary>
internal sealed class InteractionMatrix
{
    private readonly int[] _userStart, _userItems, _itemStart, _itemUsers;
    private readonly float[] _userValues, _itemValues;

    public int Users { get; }
    public int Items { get; }
    /// <summary>Distinct non-zero (user, item) pairs.</summary>
    public int NonZeros => _userItems.Length;

    private InteractionMatrix(int users, int items, int[] userStart, int[] userItems, float[] userValues,
        int[] itemStart, int[] itemUsers, float[] itemValues)
    {
        Users = users;
        Items = items;
        _userStart = userStart;
        _userItems = userItems;
        _userValues = userValues;
        _itemStart = itemStart;
        _itemUsers = itemUsers;
        _itemValues = itemValues;
    }

    /// <summary>Builds the matrix. Indices must be in range; strengths finite and &gt; 0.</summary>
    /// <exception cref="ArgumentException">An index is out of range or a strength is not a positive finite number.</exception>
    public static InteractionMatrix Build(int users, int items, ReadOnlySpan<Interaction> interactions)
    {
        if (users < 0 || items < 0) throw new ArgumentOutOfRangeException(nameof(users), "matrix dimensions cannot be negative");
        for (int k = 0; k < interactions.Length; k++)
        {
            var x = interactions[k];
            if ((uint)x.User >= (uint)users) throw new ArgumentException($"interaction {k}: user {x.User} is outside 0..{users - 1}");
            if ((uint)x.Item >= (uint)items) throw new ArgumentException($"interaction {k}: item {x.Item} is outside 0..{items - 1}");
            if (!(x.Strength > 0) || !float.IsFinite(x.Strength)) throw new ArgumentException($"interaction {k}: strength {x.Strength} must be a positive finite number");
        }
        var (uStart, uItems, uValues) = Compress(users, interactions, byUser: true);
        var (iStart, iUsers, iValues) = Compress(items, interactions, byUser: false);
        return new InteractionMatrix(users, items, uStart, uItems, uValues, iStart, iUsers, iValues);
    }

    // Counting sort by the major index, then sort each row by the minor index and sum duplicates.
    private static (int[] Start, int[] Minor, float[] Values) Compress(int majors, ReadOnlySpan<Interaction> xs, bool byUser)
    {
        var start = new int[majors + 1];
        foreach (var x in xs) start[(byUser ? x.User : x.Item) + 1]++;
        for (int m = 0; m < majors; m++) start[m + 1] += start[m];
        var fill = start.AsSpan(0, majors).ToArray();
        var minor = new int[xs.Length];
        var values = new float[xs.Length];
        foreach (var x in xs)
        {
            int at = fill[byUser ? x.User : x.Item]++;
            minor[at] = byUser ? x.Item : x.User;
            values[at] = x.Strength;
        }
        var newStart = new int[majors + 1];
        int write = 0;
        for (int m = 0; m < majors; m++)
        {
            int s = start[m], e = start[m + 1];
            Array.Sort(minor, values, s, e - s);
            newStart[m] = write;
            for (int k = s; k < e; k++)
            {
                if (write > newStart[m] && minor[write - 1] == minor[k]) values[write - 1] += values[k];
                else { minor[write] = minor[k]; values[write] = values[k]; write++; }
            }
        }
        newStart[majors] = write;
        return (newStart, minor[..write], values[..write]);
    }

    /// <summary>The items a user interacted with (ascending) and the strengths.</summary>
    public (ReadOnlyMemory<int> Items, ReadOnlyMemory<float> Strengths) UserRow(int user)
    {
        int s = _userStart[user], n = _userStart[user + 1] - s;
        return (_userItems.AsMemory(s, n), _userValues.AsMemory(s, n));
    }

    /// <summary>The users who interacted with an item (ascending) and the strengths.</summary>
    public (ReadOnlyMemory<int> Users, ReadOnlyMemory<float> Strengths) ItemColumn(int item)
    {
        int s = _itemStart[item], n = _itemStart[item + 1] - s;
        return (_itemUsers.AsMemory(s, n), _itemValues.AsMemory(s, n));
    }

    internal ReadOnlySpan<int> RowIndices(bool byUser, int major)
    {
        var start = byUser ? _userStart : _itemStart;
        return (byUser ? _userItems : _itemUsers).AsSpan(start[major], start[major + 1] - start[major]);
    }

    internal ReadOnlySpan<float> RowValues(bool byUser, int major)
    {
        var start = byUser ? _userStart : _itemStart;
        return (byUser ? _userValues : _itemValues).AsSpan(start[major], start[major + 1] - start[major]);
    }
}
