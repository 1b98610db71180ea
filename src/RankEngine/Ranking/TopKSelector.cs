namespace RankEngine.Ranking;

/// <summary>
/// Keeps the k best (score, row) pairs seen, with a deterministic order: higher score first, and on equal scores
/// the smaller item id (ordinal) first. A min-heap whose root is the current k-th best acts as the threshold that
/// rejects most candidates with one comparison (FAISS's result-handler pattern).
/// </summary>
public sealed class TopKSelector
{
    private readonly (float Score, int Row)[] _heap;
    private readonly IRankingCatalog _catalog;
    private int _count;

    public TopKSelector(int k, IRankingCatalog catalog)
    {
        if (k <= 0) throw new ArgumentOutOfRangeException(nameof(k), "k must be positive");
        _heap = new (float, int)[k];
        _catalog = catalog;
    }

    public int Count => _count;

    /// <summary>True when (a) ranks strictly before (b).</summary>
    private bool Better((float Score, int Row) a, (float Score, int Row) b) =>
        a.Score > b.Score || (a.Score == b.Score && string.CompareOrdinal(_catalog.IdOf(a.Row), _catalog.IdOf(b.Row)) < 0);

    public void Offer(float score, int row)
    {
        var item = (score, row);
        if (_count < _heap.Length)
        {
            _heap[_count] = item;
            SiftUp(_count++);
        }
        else if (Better(item, _heap[0]))
        {
            _heap[0] = item;
            SiftDown(0);
        }
    }

    /// <summary>The kept pairs, best first.</summary>
    public (float Score, int Row)[] Drain()
    {
        var result = _heap.AsSpan(0, _count).ToArray();
        Array.Sort(result, (a, b) => Better(a, b) ? -1 : Better(b, a) ? 1 : 0);
        _count = 0;
        return result;
    }

    // Min-heap by "Better": the root is the worst kept item.
    private void SiftUp(int i)
    {
        while (i > 0)
        {
            int parent = (i - 1) / 2;
            if (!Better(_heap[parent], _heap[i])) break;
            (_heap[parent], _heap[i]) = (_heap[i], _heap[parent]);
            i = parent;
        }
    }

    private void SiftDown(int i)
    {
        while (true)
        {
            int l = 2 * i + 1, r = l + 1, worst = i;
            if (l < _count && Better(_heap[worst], _heap[l])) worst = l;
            if (r < _count && Better(_heap[worst], _heap[r])) worst = r;
            if (worst == i) return;
            (_heap[worst], _heap[i]) = (_heap[i], _heap[worst]);
            i = worst;
        }
    }
}
