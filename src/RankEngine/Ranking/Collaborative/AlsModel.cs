using System.Numerics.Tensors;

namespace RankEngine.Ranking.Collaborative;

/// <summary>
/// Trained implicit-ALS factors. <c>x_u · y_i</c> estimates the preference p ∈ [0, 1] that user u has for item i.
/// The factors are deliberately not normalised: an item's factor length carries how confidently (and how widely)
/// it is liked, which cosine would throw away; the dot product is already on the [0, 1] preference scale, comparable
/// to a content cosine, so it can be used directly as an item's collab vector and a user's collab query. Items or users without any interaction get zero vectors (score 0).
/// The final sweep solves users, so user factors are exactly <see cref="FoldInUser"/> of their own interactions.
/// </summary>
internal sealed class AlsModel
{
    private readonly double[] _users, _items, _itemGram;

    public int Users { get; }
    public int Items { get; }
    public int Factors { get; }
    public AlsOptions Options { get; }
    /// <summary>The objective L after each iteration (non-increasing up to rounding).</summary>
    public IReadOnlyList<double> Objective { get; }

    internal AlsModel(int users, int items, int factors, double[] userFactors, double[] itemFactors, double[] itemGram,
        AlsOptions options, IReadOnlyList<double> objective)
    {
        Users = users;
        Items = items;
        Factors = factors;
        _users = userFactors;
        _items = itemFactors;
        _itemGram = itemGram;
        Options = options;
        Objective = objective;
    }

    /// <summary>Copies a user's factor (single precision) into <paramref name="destination"/>.</summary>
    public void UserFactor(int user, Span<float> destination) => Copy(_users, user, Users, destination);

    /// <summary>Copies an item's factor (single precision) into <paramref name="destination"/>.</summary>
    public void ItemFactor(int item, Span<float> destination) => Copy(_items, item, Items, destination);

    /// <summary>All user factors, row-major [users × factors].</summary>
    public float[] UserFactors() => ToSingle(_users);

    /// <summary>All item factors, row-major [items × factors].</summary>
    public float[] ItemFactors() => ToSingle(_items);

    /// <summary>The predicted preference x_u · y_i.</summary>
    public double Score(int user, int item)
    {
        if ((uint)user >= (uint)Users) throw new ArgumentOutOfRangeException(nameof(user));
        if ((uint)item >= (uint)Items) throw new ArgumentOutOfRangeException(nameof(item));
        return TensorPrimitives.Dot(_users.AsSpan(user * Factors, Factors), _items.AsSpan(item * Factors, Factors));
    }

    /// <summary>
    /// The factor of a user who is not in the model (or whose interactions changed), from their interactions with
    /// known items: the same exact least-squares solve as a training sweep, with the item factors fixed. Duplicate
    /// items are summed. Cost O(n·d² + d³); no interactions give the zero vector.
    /// </summary>
    /// <exception cref="ArgumentException">Lengths differ, an item is out of range, or a strength is not positive.</exception>
    public void FoldInUser(ReadOnlySpan<int> items, ReadOnlySpan<float> strengths, Span<float> destination)
    {
        if (items.Length != strengths.Length) throw new ArgumentException("items and strengths differ in length");
        if (destination.Length != Factors) throw new ArgumentException($"destination has {destination.Length} elements, expected {Factors}");
        var xs = new Interaction[items.Length];
        for (int k = 0; k < items.Length; k++) xs[k] = new Interaction(0, items[k], strengths[k]);
        var row = InteractionMatrix.Build(1, Items, xs); // validates and merges duplicates
        var x = new double[Factors];
        ImplicitAls.SolveRow(row.RowIndices(true, 0), row.RowValues(true, 0), _items, _itemGram, Factors, Options.Alpha,
            Options.Regularization, new ImplicitAls.Workspace(Factors), x);
        for (int i = 0; i < Factors; i++) destination[i] = (float)x[i];
    }

    private void Copy(double[] source, int row, int rows, Span<float> destination)
    {
        if ((uint)row >= (uint)rows) throw new ArgumentOutOfRangeException(nameof(row), row, $"row must be in 0..{rows - 1}");
        if (destination.Length != Factors) throw new ArgumentException($"destination has {destination.Length} elements, expected {Factors}");
        var src = source.AsSpan(row * Factors, Factors);
        for (int i = 0; i < Factors; i++) destination[i] = (float)src[i];
    }

    private static float[] ToSingle(double[] source)
    {
        var result = new float[source.Length];
        for (int i = 0; i < source.Length; i++) result[i] = (float)source[i];
        return result;
    }
}
