using RankEngine.Ranking;
using RankEngine.Ranking.Collaborative;
using RankEngine.Store;

namespace RankEngine.Data;

/// <summary>Progress of a long ingestion step, for progress bars.</summary>
/// <param name="Step">Which step ("items", "collab", "users").</param>
/// <param name="Done">Units done so far.</param>
/// <param name="Total">Units in the step.</param>
internal readonly record struct IngestProgress(string Step, int Done, int Total);

/// <summary>What an ingestion did.</summary>
internal sealed record IngestSummary(int ItemsAdded, int ItemsSkipped, int CollabVectors, int UsersAdded, int UsersSkipped, int Events);

/// <summary>
/// Loads items and events into an engine: items (text encoded in batches, plus a <c>popularity</c> field =
/// ln(1 + positive events)), unit-length collaborative item vectors from implicit ALS over all events, then each user's events
/// (one profile build and one durable write per user). Resumable: items and users already in the store are skipped
/// (unless <c>force</c>), and ALS is recomputed, so re-running after an interruption completes the job.
/// </summary>
internal static class Ingestion
{
    /// <summary>Runs the whole ingestion into <paramref name="engine"/>; returns what was added and skipped.</summary>
    /// <param name="engine">The engine to load into.</param>
    /// <param name="data">The items and events to load.</param>
    /// <param name="weights">Event weights (which events count towards popularity, and the ALS strengths); null: the engine's.</param>
    /// <param name="force">Rewrite items and users already in the store instead of skipping them.</param>
    /// <param name="progress">Called as each step advances.</param>
    /// <param name="als">ALS settings; the factor count always follows the engine's collab dimension.</param>
    /// <param name="contentVectors">Content vectors already encoded with the engine's model, by item id (the evaluator
    /// encodes once for several stores); items without one are encoded from their text.</param>
    public static IngestSummary Run(RankingEngine engine, InteractionData data, EventWeights? weights = null, bool force = false,
        Action<IngestProgress>? progress = null, AlsOptions? als = null, IReadOnlyDictionary<string, float[]>? contentVectors = null)
    {
        weights ??= engine.EventWeights;
        // Popularity from positive events.
        var positives = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var e in data.Events)
            if (weights.For(e.Kind) * e.Weight > 0) positives[e.ItemId] = positives.GetValueOrDefault(e.ItemId) + 1;

        // 1. Items.
        var toAdd = new List<ItemInput>();
        int skipped = 0;
        foreach (var item in data.Items)
        {
            if (!force && engine.TryGetItem(item.Id, out _)) { skipped++; continue; }
            var fields = ToFieldValues(item.Fields);
            fields[RankingEngine.PopularityField] = FieldValue.Num(Math.Log(1 + positives.GetValueOrDefault(item.Id)));
            toAdd.Add(new ItemInput(item.Id) { Text = item.Text, Fields = fields, ContentVector = contentVectors?.GetValueOrDefault(item.Id) });
        }
        progress?.Invoke(new("items", 0, toAdd.Count));
        engine.AddItems(toAdd, done => progress?.Invoke(new("items", done, toAdd.Count)));

        // 2. Collaborative vectors (implicit ALS on positive strengths).
        int collab = 0;
        if (engine.CollabDimension > 0 && data.Events.Count > 0)
        {
            var userIndex = new Dictionary<string, int>(StringComparer.Ordinal);
            var itemIndex = new Dictionary<string, int>(StringComparer.Ordinal);
            var itemIds = new List<string>();
            var interactions = new List<Interaction>();
            foreach (var e in data.Events)
            {
                float strength = weights.For(e.Kind) * e.Weight;
                if (strength <= 0) continue;
                if (!userIndex.TryGetValue(e.UserId, out int u)) userIndex[e.UserId] = u = userIndex.Count;
                if (!itemIndex.TryGetValue(e.ItemId, out int i)) { itemIndex[e.ItemId] = i = itemIds.Count; itemIds.Add(e.ItemId); }
                interactions.Add(new Interaction(u, i, strength));
            }
            if (interactions.Count > 0)
            {
                var matrix = InteractionMatrix.Build(userIndex.Count, itemIds.Count, interactions.ToArray());
                var options = (als ?? AlsOptions.Default) with { Factors = engine.CollabDimension };
                progress?.Invoke(new("collab", 0, options.Iterations));
                var model = ImplicitAls.Train(matrix, options, (iteration, _) => progress?.Invoke(new("collab", iteration, options.Iterations)));
                var vectors = new Dictionary<string, float[]>(itemIds.Count, StringComparer.Ordinal);
                for (int i = 0; i < itemIds.Count; i++)
                {
                    var v = new float[engine.CollabDimension];
                    model.ItemFactor(i, v);
                    // Unit length: the collab part becomes a cosine, on the same scale as the content part, so
                    // the default 1:1 weights mean something; popularity is a separate boost.
                    // A factor shrunk to (near) zero by the regularisation carries no direction: no collab vector.
                    float norm = System.Numerics.Tensors.TensorPrimitives.Norm(v);
                    if (!(norm > 1e-12f)) continue;
                    System.Numerics.Tensors.TensorPrimitives.Multiply(v, 1f / norm, v);
                    vectors[itemIds[i]] = v;
                }
                collab = engine.SetCollabVectors(vectors);
            }
        }

        // 3. Users: all of a user's events at once.
        var byUser = new Dictionary<string, List<UserEvent>>(StringComparer.Ordinal);
        foreach (var e in data.Events)
        {
            if (!byUser.TryGetValue(e.UserId, out var list)) byUser[e.UserId] = list = new List<UserEvent>();
            list.Add(e.ToUserEvent());
        }
        int usersAdded = 0, usersSkipped = 0, done = 0;
        progress?.Invoke(new("users", 0, byUser.Count));
        foreach (var (user, events) in byUser)
        {
            if (!force && engine.TryGetUser(user, out _)) usersSkipped++;
            else
            {
                if (force && engine.TryGetUser(user, out _)) engine.DeleteUser(user);
                engine.RecordEvents(user, events);
                usersAdded++;
            }
            progress?.Invoke(new("users", ++done, byUser.Count));
        }
        engine.Checkpoint();
        return new IngestSummary(toAdd.Count, skipped, collab, usersAdded, usersSkipped, data.Events.Count);
    }

    /// <summary>Ranking fields as store field values.</summary>
    public static Dictionary<string, FieldValue> ToFieldValues(ItemFields fields)
    {
        var result = new Dictionary<string, FieldValue>(StringComparer.Ordinal);
        foreach (var (k, v) in fields.Numbers) result[k] = FieldValue.Num(v);
        foreach (var (k, v) in fields.Strings) result[k] = FieldValue.String(v);
        foreach (var (k, v) in fields.Tags) result[k] = FieldValue.Tags(v.ToArray());
        return result;
    }
}
