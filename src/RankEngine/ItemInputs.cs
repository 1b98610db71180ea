using RankEngine.Encoders;
using RankEngine.Ranking;
using RankEngine.Store;

namespace RankEngine;

/// <summary>
/// Turns item inputs into the records every deployment stores: content vectors normalised (or encoded from the
/// text in one batch), collab vectors checked. The embedded engine and a cluster front end both write these.
/// </summary>
internal static class ItemInputs
{
    /// <summary>
    /// Writes items in batches of 64 (texts of a batch encoded together): each batch's records go to
    /// <paramref name="write"/>, which returns once they are durable; then <paramref name="progress"/> hears the count so far.
    /// </summary>
    public static void WriteInBatches(IReadOnlyList<ItemInput> items, int contentDimension, int collabDimension,
        Func<IReadOnlyList<string>, TextEmbeddings> encode, Action<ItemRecord[]> write, Action<int>? progress)
    {
        ArgumentNullException.ThrowIfNull(items);
        const int batch = 64;
        for (int start = 0; start < items.Count; start += batch)
        {
            int n = Math.Min(batch, items.Count - start);
            write(ToRecords(items, start, n, contentDimension, collabDimension, encode));
            progress?.Invoke(start + n);
        }
    }

    /// <summary>Records for <c>items[start .. start + count)</c>.</summary>
    /// <exception cref="ArgumentException">An item is null, has neither text nor a content vector, a bad dimension, NaN, or an all-zero vector.</exception>
    public static ItemRecord[] ToRecords(IReadOnlyList<ItemInput> items, int start, int count, int contentDimension, int collabDimension,
        Func<IReadOnlyList<string>, TextEmbeddings> encode)
    {
        var records = new ItemRecord[count];
        var needText = new List<int>();
        for (int i = 0; i < count; i++)
        {
            var input = items[start + i] ?? throw new ArgumentException($"item {start + i} is null");
            var record = new ItemRecord(input.Id) { Text = input.Text };
            foreach (var (name, value) in input.Fields) record.Fields[name] = value;
            if (input.ContentVector is not null) record.Vectors[RankPipeline.ContentVector] = Normalized(input.ContentVector, input.Id, contentDimension);
            else if (input.Text is not null) needText.Add(i);
            else throw new ArgumentException($"item '{input.Id}' has neither text nor a content vector");
            if (input.CollabVector is not null)
            {
                if (collabDimension == 0) throw new ArgumentException($"item '{input.Id}' has a collab vector but the engine has collab vectors disabled");
                record.Vectors[RankPipeline.CollabVector] = input.CollabVector;
            }
            records[i] = record;
        }
        if (needText.Count > 0)
        {
            var texts = new string[needText.Count];
            for (int j = 0; j < texts.Length; j++) texts[j] = items[start + needText[j]].Text!;
            var embeddings = encode(texts);
            for (int j = 0; j < needText.Count; j++)
                records[needText[j]].Vectors[RankPipeline.ContentVector] = embeddings.Vector(j).ToArray();
        }
        return records;
    }

    private static float[] Normalized(float[] v, string id, int dimension)
    {
        if (v.Length != dimension)
            throw new ArgumentException($"item '{id}': content vector has {v.Length} dimensions, expected {dimension}");
        foreach (float x in v)
            if (!float.IsFinite(x)) throw new ArgumentException($"item '{id}': content vector contains NaN or infinity");
        float norm = System.Numerics.Tensors.TensorPrimitives.Norm(v);
        if (norm == 0) throw new ArgumentException($"item '{id}': content vector is all zeros");
        var r = new float[v.Length];
        System.Numerics.Tensors.TensorPrimitives.Multiply(v, 1f / norm, r);
        return r;
    }
}
