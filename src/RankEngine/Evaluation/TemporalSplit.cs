using RankEngine.Ranking;
using RankEngine.Store;

namespace RankEngine.Evaluation;

/// <summary>One interaction as the evaluation sees it: dense user and item indexes, and whether it is relevant.</summary>
/// <param name="User">Dense user index.</param>
/// <param name="Item">Dense item index (catalog row).</param>
/// <param name="Kind">Feedback kind (ratings are mapped by <see cref="Data.RatingMapping"/>).</param>
/// <param name="Weight">Event weight (<see cref="UserEvent.Weight"/>).</param>
/// <param name="Positive">Relevant for evaluation (rating ≥ 4 on MovieLens).</param>
/// <param name="Timestamp">Unix seconds.</param>
internal readonly record struct EvalEvent(int User, int Item, UserEventKind Kind, float Weight, bool Positive, long Timestamp)
{
    /// <summary>Position of the event in its source (so a split can be mapped back to the input events).</summary>
    public int Index { get; init; }
}

/// <summary>Parameters of <see cref="TemporalSplit"/>.</summary>
internal sealed record SplitOptions
{
    /// <summary>Share of each user's positives held out, taken from the end of their history.</summary>
    public double HoldoutFraction { get; init; } = 0.2;
    /// <summary>Users with fewer positives than this stay entirely in training and are not evaluated.</summary>
    public int MinPositives { get; init; } = 5;

    public void Validate()
    {
        if (!(HoldoutFraction > 0 && HoldoutFraction < 1)) throw new ArgumentOutOfRangeException(nameof(HoldoutFraction), HoldoutFraction, "the held-out fraction must be in (0, 1)");
        if (MinPositives < 2) throw new ArgumentOutOfRangeException(nameof(MinPositives), MinPositives, "a user needs at least 2 positives to have one for training and one held out");
    }
}

/// <summary>
/// Per-user temporal split. Each user's events are ordered by time (ties keep input order). Of a user with
/// n ≥ <see cref="SplitOptions.MinPositives"/> positives, the last h = max(1, round(n × fraction)) positives are held
/// out; every event before the first held-out one (positive or not) is training data; events after that point which
/// are not held out are dropped (they would leak the future into training). Users with fewer positives keep all
/// their events in training and are not evaluated. Held-out items the user also has in training are not counted.
/// </summary>
internal sealed class TemporalSplit
{
    /// <summary>Training events, grouped by user (ascending), each user's in time order.</summary>
    public IReadOnlyList<EvalEvent> Train { get; }
    /// <summary>Evaluated users, ascending.</summary>
    public IReadOnlyList<int> TestUsers { get; }
    /// <summary>Held-out relevant items of <see cref="TestUsers"/>[i], in time order.</summary>
    public IReadOnlyList<int[]> HeldOut { get; }
    /// <summary>Events after a user's cut-off that are not held out (non-positives, repeats of training items).</summary>
    public int Dropped { get; }

    private TemporalSplit(List<EvalEvent> train, List<int> users, List<int[]> heldOut, int dropped)
    {
        Train = train;
        TestUsers = users;
        HeldOut = heldOut;
        Dropped = dropped;
    }

    /// <summary>The same test users and held-out items over other training events (e.g. with some items made cold).</summary>
    public TemporalSplit WithTrain(IReadOnlyList<EvalEvent> train) => new(train.ToList(), TestUsers.ToList(), HeldOut.ToList(), Dropped);

    public static TemporalSplit Create(IReadOnlyList<EvalEvent> events, SplitOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(events);
        options ??= new SplitOptions();
        options.Validate();
        // Stable order by (user, time): a sort on (user, time, input position).
        var order = new int[events.Count];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        Array.Sort(order, (a, b) =>
        {
            int c = events[a].User.CompareTo(events[b].User);
            if (c == 0) c = events[a].Timestamp.CompareTo(events[b].Timestamp);
            return c != 0 ? c : a.CompareTo(b);
        });

        var train = new List<EvalEvent>(events.Count);
        var users = new List<int>();
        var heldOut = new List<int[]>();
        int dropped = 0;
        for (int start = 0; start < order.Length;)
        {
            int user = events[order[start]].User, end = start;
            int positives = 0;
            while (end < order.Length && events[order[end]].User == user)
            {
                if (events[order[end]].Positive) positives++;
                end++;
            }
            if (positives < options.MinPositives)
            {
                for (int i = start; i < end; i++) train.Add(events[order[i]]);
                start = end;
                continue;
            }
            int hold = Math.Max(1, (int)Math.Round(positives * options.HoldoutFraction, MidpointRounding.AwayFromZero));
            // The cut-off is the position of the (positives − hold + 1)-th positive.
            int cut = start, seen = 0;
            for (; cut < end; cut++)
                if (events[order[cut]].Positive && ++seen == positives - hold + 1) break;
            var trainItems = new HashSet<int>();
            for (int i = start; i < cut; i++)
            {
                train.Add(events[order[i]]);
                trainItems.Add(events[order[i]].Item);
            }
            var held = new List<int>(hold);
            for (int i = cut; i < end; i++)
            {
                var e = events[order[i]];
                if (e.Positive && !trainItems.Contains(e.Item) && !held.Contains(e.Item)) held.Add(e.Item);
                else dropped++;
            }
            if (held.Count > 0)
            {
                users.Add(user);
                heldOut.Add(held.ToArray());
            }
            start = end;
        }
        return new TemporalSplit(train, users, heldOut, dropped);
    }
}
