using System.Numerics.Tensors;

namespace RankEngine.Evaluation;

/// <summary>
/// EASE (Steck 2019) exactly as published, as an independent baseline: over the binary users × items matrix X of
/// positive training interactions, <c>P = (XᵀX + λI)⁻¹</c>, <c>B = I − P·diag(P)⁻¹</c> with a zero diagonal, and a
/// user's scores are <c>x_u·B</c>. Dense n × n in fp64 over the items that have a positive (the others have zero
/// columns and score 0), so it is meant for catalogs of up to a few ten thousand such items. Shares no code with
/// the served model (<see cref="Models.SpectralEase"/>), which approximates the same B.
/// </summary>
internal sealed class EaseBaseline
{
    private readonly int[] _activeItems;   // model index → catalog row
    private readonly int[] _modelIndex;    // catalog row → model index, −1 when inactive
    private readonly double[] _b;          // n × n, row-major
    private readonly List<int>[] _positives;

    public int Items { get; }
    public double Lambda { get; }

    public EaseBaseline(int users, int items, IReadOnlyList<EvalEvent> train, double lambda)
    {
        if (!(lambda > 0)) throw new ArgumentOutOfRangeException(nameof(lambda), lambda, "λ must be positive");
        Items = items;
        Lambda = lambda;
        _positives = new List<int>[users];
        for (int u = 0; u < users; u++) _positives[u] = new List<int>();
        _modelIndex = new int[items];
        Array.Fill(_modelIndex, -1);
        var active = new List<int>();
        foreach (var e in train)
        {
            if (!e.Positive || _positives[e.User].Contains(e.Item)) continue;
            if (_modelIndex[e.Item] < 0) { _modelIndex[e.Item] = active.Count; active.Add(e.Item); }
            _positives[e.User].Add(e.Item);
        }
        _activeItems = active.ToArray();
        int n = _activeItems.Length;
        var g = new double[(long)n * n];
        foreach (var list in _positives)
            foreach (int a in list)
                foreach (int b in list)
                    g[(long)_modelIndex[a] * n + _modelIndex[b]] += 1;
        for (int i = 0; i < n; i++) g[(long)i * n + i] += lambda;
        var p = InvertSpd(g, n);
        _b = new double[(long)n * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                _b[(long)i * n + j] = i == j ? 0 : -p[(long)i * n + j] / p[(long)j * n + j];
    }

    /// <summary>The item–item weights B[i, j] between two catalog rows (0 when either has no positive).</summary>
    public double Weight(int fromRow, int toRow)
    {
        int i = _modelIndex[fromRow], j = _modelIndex[toRow];
        return i < 0 || j < 0 ? 0 : _b[(long)i * _activeItems.Length + j];
    }

    /// <summary>scores[row] = Σ_{j ∈ positives(user)} B[j, row] for every catalog row.</summary>
    public void Score(int user, Span<double> scores)
    {
        scores.Clear();
        int n = _activeItems.Length;
        foreach (int item in _positives[user])
        {
            var row = _b.AsSpan((int)((long)_modelIndex[item] * n), n);
            for (int j = 0; j < n; j++) scores[_activeItems[j]] += row[j];
        }
    }

    /// <summary>Inverse of a symmetric positive definite matrix: Cholesky L·Lᵀ, then one solve per column.</summary>
    internal static double[] InvertSpd(double[] a, int n)
    {
        var l = new double[(long)n * n];
        for (int j = 0; j < n; j++)
        {
            var lj = l.AsSpan(j * n, j);
            double d = a[(long)j * n + j] - TensorPrimitives.Dot(lj, lj);
            if (!(d > 0)) throw new ArithmeticException("the matrix is not positive definite");
            double root = Math.Sqrt(d);
            l[(long)j * n + j] = root;
            int col = j;
            Parallel.For(j + 1, n, i =>
            {
                double v = a[(long)i * n + col] - TensorPrimitives.Dot(l.AsSpan(i * n, col), l.AsSpan(col * n, col));
                l[(long)i * n + col] = v / root;
            });
        }
        var u = new double[(long)n * n]; // Lᵀ, so the backward pass reads rows
        for (int i = 0; i < n; i++)
            for (int j = 0; j <= i; j++) u[(long)j * n + i] = l[(long)i * n + j];
        var inverse = new double[(long)n * n];
        Parallel.For(0, n, () => new double[n], (c, _, x) =>
        {
            Array.Clear(x);
            // L·y = e_c: y is zero above c.
            for (int i = c; i < n; i++)
            {
                double b = i == c ? 1 : 0;
                x[i] = (b - TensorPrimitives.Dot(l.AsSpan(i * n + c, i - c), x.AsSpan(c, i - c))) / l[(long)i * n + i];
            }
            // Lᵀ·x = y.
            for (int i = n - 1; i >= 0; i--)
                x[i] = (x[i] - TensorPrimitives.Dot(u.AsSpan(i * n + i + 1, n - i - 1), x.AsSpan(i + 1, n - i - 1))) / l[(long)i * n + i];
            for (int i = 0; i < n; i++) inverse[(long)i * n + c] = x[i];
            return x;
        }, _ => { });
        return inverse;
    }
}
