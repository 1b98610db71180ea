using System.Numerics.Tensors;
using RankEngine.Store;

namespace RankEngine.Models;

/// <summary>How a user's events become the model's input row <c>x_u</c> (tuned on validation at train time).</summary>
public sealed record ModelInputWeights
{
    /// <summary>x for a view (a weak positive).</summary>
    public float View { get; init; }
    /// <summary>x for a dislike or a skip (≤ 0: pushes the user away from similar items).</summary>
    public float Negative { get; init; }
    /// <summary>Half-life of an event's weight, in days before the user's newest event; 0 = no decay.</summary>
    public double HalfLifeDays { get; init; }

    /// <summary>
    /// True when the store's events have no click, like or purchase at all (view-only streams): views are then the
    /// positives the model learns from and is judged on.
    /// </summary>
    public bool ViewsArePositive { get; init; }

    /// <summary>True for the kinds the model learns from and is tuned on.</summary>
    internal bool IsPositive(UserEventKind kind) => IsStrongPositive(kind) || (ViewsArePositive && kind == UserEventKind.View);

    /// <summary>x for one event kind before decay: click, like and purchase are 1.</summary>
    internal float For(UserEventKind kind) => kind switch
    {
        UserEventKind.Click or UserEventKind.Like or UserEventKind.Purchase => 1f,
        UserEventKind.View => ViewsArePositive ? 1f : View,
        UserEventKind.Dislike or UserEventKind.Skip => Negative,
        _ => 0f,
    };

    /// <summary>An item's factor into <c>destination</c>; false when the item has none.</summary>
    internal delegate bool ItemFactor(string itemId, Span<float> destination);

    /// <summary>
    /// The pooled user vector <c>Σ_j x_uj · factor_j</c> over the user's items, where x_uj is the weight of the newest
    /// event on item j (a like followed by a dislike is a dislike), decayed by its age before the user's newest event.
    /// False (destination zero) when no event carries weight. The one rule serving and training share.
    /// </summary>
    internal bool Pool(IReadOnlyList<UserEvent> events, ItemFactor factorOf, Span<float> destination)
    {
        destination.Clear();
        if (events.Count == 0) return false;
        long newest = long.MinValue;
        foreach (var e in events) newest = Math.Max(newest, e.TimestampMs);
        var latest = new Dictionary<string, UserEvent>(events.Count, StringComparer.Ordinal);
        foreach (var e in events)
            if (!latest.TryGetValue(e.ItemId, out var seen) || e.TimestampMs >= seen.TimestampMs) latest[e.ItemId] = e;
        int r = destination.Length;
        Span<float> factor = r <= 1024 ? stackalloc float[r] : new float[r];
        bool any = false;
        double halfLifeMs = HalfLifeDays * 86_400_000.0;
        foreach (var e in latest.Values)
        {
            float x = For(e.Kind) * e.Weight;
            if (x == 0 || !factorOf(e.ItemId, factor)) continue;
            if (halfLifeMs > 0) x *= (float)Math.Pow(0.5, (newest - e.TimestampMs) / halfLifeMs);
            TensorPrimitives.MultiplyAdd(factor, x, destination, destination);
            any = true;
        }
        return any;
    }

    /// <summary>True for the kinds the model learns from and is judged on (click, like, purchase).</summary>
    internal static bool IsStrongPositive(UserEventKind kind) => kind is UserEventKind.Click or UserEventKind.Like or UserEventKind.Purchase;
}

/// <summary>The ranking parameters training chose on validation; served when a request does not set them.</summary>
public sealed record TunedDefaults
{
    /// <summary>Weight of the encoder (content) similarity.</summary>
    public float ContentWeight { get; init; }
    /// <summary>Weight of the model score (scaled so a user's best item scores about 1).</summary>
    public float CollabWeight { get; init; } = 1f;
    /// <summary>Weight of the <c>popularity</c> field boost.</summary>
    public float PopularityBoost { get; init; }
    /// <summary>The MMR λ recommended for diversified lists (chosen on validation within a small relevance cost).</summary>
    public float RecommendedDiversity { get; init; }
    /// <summary>Weight of content-predicted factors for items without events (already applied to the map; for reports).</summary>
    public float ColdItemWeight { get; init; }
}

/// <summary>
/// A trained recommendation model: item factors of a pooled linear model (<see cref="SpectralEase"/>), where the
/// user vector is the event-weighted sum of the user's items' input factors and an item's score is that vector
/// dotted with its output factor, plus ridge maps from content vectors to both factors so items the model has not
/// seen (added after training, or never interacted with) still get factors from their text. Immutable.
/// </summary>
internal sealed class RankingModel
{
    private readonly Dictionary<string, int> _indexById;

    internal RankingModel(ModelDescription description, string[] itemIds, float[] input, float[] output,
        float[]? contentToInput, float[]? contentToOutput, float[]? contentMean)
    {
        Description = description;
        ItemIds = itemIds;
        Input = input;
        Output = output;
        ContentToInput = contentToInput;
        ContentToOutput = contentToOutput;
        ContentMean = contentMean;
        _indexById = new Dictionary<string, int>(itemIds.Length, StringComparer.Ordinal);
        for (int i = 0; i < itemIds.Length; i++) _indexById[itemIds[i]] = i;
    }

    /// <summary>Hyperparameters, tuned defaults and training statistics.</summary>
    public ModelDescription Description { get; }
    /// <summary>Width of user and item factors.</summary>
    public int Rank => Description.Rank;
    /// <summary>Items with learned factors, by model index.</summary>
    internal string[] ItemIds { get; }
    /// <summary>Input factors, items × rank.</summary>
    internal float[] Input { get; }
    /// <summary>Output factors, items × rank (already multiplied by the score scale).</summary>
    internal float[] Output { get; }
    /// <summary>Ridge map content → input factor, contentDim × rank; null without content mapping.</summary>
    internal float[]? ContentToInput { get; }
    /// <summary>Ridge map content → output factor, contentDim × rank.</summary>
    internal float[]? ContentToOutput { get; }
    /// <summary>Mean content vector of the catalog at training (MMR centres similarities on it).</summary>
    internal float[]? ContentMean { get; }

    /// <summary>True when the model learned factors for this item.</summary>
    public bool Knows(string itemId) => _indexById.ContainsKey(itemId);

    /// <summary>
    /// The item's output factor: learned, else predicted from its content vector, else false (zero score).
    /// </summary>
    internal bool TryOutputFor(string itemId, ReadOnlySpan<float> content, Span<float> destination) =>
        TryFactor(itemId, content, Output, ContentToOutput, destination);

    /// <summary>The item's input factor (its pull on a user who interacted with it).</summary>
    internal bool TryInputFor(string itemId, ReadOnlySpan<float> content, Span<float> destination) =>
        TryFactor(itemId, content, Input, ContentToInput, destination);

    private bool TryFactor(string itemId, ReadOnlySpan<float> content, float[] learned, float[]? map, Span<float> destination)
    {
        int r = Rank;
        if (_indexById.TryGetValue(itemId, out int index))
        {
            learned.AsSpan(index * r, r).CopyTo(destination);
            return true;
        }
        destination[..r].Clear();
        if (map is null || content.IsEmpty || content.Length * r != map.Length) return false;
        ContentRidge.Predict(map, content, destination[..r]);
        return true;
    }

    /// <summary>
    /// The user vector the model prescribes (<see cref="ModelInputWeights.Pool"/> over the input factors); items
    /// without learned factors use their content-predicted one.
    /// </summary>
    /// <param name="events">The user's events.</param>
    /// <param name="contentOf">The content vector of an item id (empty when unknown); used for items without learned factors.</param>
    /// <param name="destination">Receives the user vector (its first <see cref="Rank"/> entries).</param>
    internal bool TryUserVector(IReadOnlyList<UserEvent> events, Func<string, ReadOnlyMemory<float>> contentOf, Span<float> destination) =>
        Description.InputWeights.Pool(events, (id, factor) => TryInputFor(id, contentOf(id).Span, factor), destination[..Rank]);
}

/// <summary>What a model file says about its model.</summary>
public sealed record ModelDescription
{
    /// <summary>Increasing number of the model in its data directory.</summary>
    public long Version { get; init; }
    /// <summary>Model kind; "spectral-ease".</summary>
    public string Kind { get; init; } = "spectral-ease";
    /// <summary>Number of factors per item (the model's rank).</summary>
    public int Rank { get; init; }
    /// <summary>Width of the content vectors the ridge maps read (0: no mapping).</summary>
    public int ContentDimension { get; init; }
    /// <summary>EASE's L2 regularisation λ.</summary>
    public double Lambda { get; init; }
    /// <summary>How a user's events become the model's input row (tuned on validation).</summary>
    public ModelInputWeights InputWeights { get; init; } = new();
    /// <summary>Ranking parameters chosen on validation, served when a request does not set them.</summary>
    public TunedDefaults Defaults { get; init; } = new();
    /// <summary>The tag field MMR compares items by besides content (the one most items have), or null.</summary>
    public string? DiversityTagField { get; init; }
    /// <summary>Multiplier applied to output factors so a user's best item scores about 1.</summary>
    public double ScoreScale { get; init; } = 1;
    /// <summary>When training finished (UTC).</summary>
    public DateTimeOffset TrainedAt { get; init; }
    /// <summary>Users the final fit saw.</summary>
    public int Users { get; init; }
    /// <summary>Items with factors from the final fit.</summary>
    public int Items { get; init; }
    /// <summary>Strong-positive events (non-zero entries of the interaction matrix) the final fit saw.</summary>
    public long Events { get; init; }
    /// <summary>NDCG@10 of the chosen settings on the validation split (NaN when there was none).</summary>
    public double ValidationNdcg { get; init; } = double.NaN;
    /// <summary>Seconds the whole training took.</summary>
    public double TrainSeconds { get; init; }
}
