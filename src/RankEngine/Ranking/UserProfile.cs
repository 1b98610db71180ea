using System.Numerics.Tensors;

namespace RankEngine.Ranking;

/// <summary>
/// A user vector built from the behaviour sequence by recency-decayed, kind-weighted pooling of item vectors:
/// <c>S(t) = Σ_e w(kind_e) · weight_e · 2^(−(t − t_e)/halfLife) · v(item_e)</c>, and the user vector is <c>S / |S|</c>.
/// Negative kinds (dislike, skip) subtract, pushing the user away from those items. The state is the decayed sum
/// <see cref="Sum"/> and the time it refers to, so every new event is an O(d) update (the online feedback loop) and
/// replaying the same events in order gives the same vector as a batch build.
/// </summary>
internal sealed class UserProfile
{
    /// <summary>The decayed, weighted sum of item vectors, as of <see cref="AsOf"/>.</summary>
    public float[] Sum { get; }
    /// <summary>Unix seconds the sum is decayed to.</summary>
    public long AsOf { get; private set; }
    /// <summary>Total absolute weight folded in (decayed); 0 means no signal yet.</summary>
    public double Mass { get; private set; }

    public int Dimension => Sum.Length;

    public UserProfile(int dimension)
    {
        if (dimension <= 0) throw new ArgumentOutOfRangeException(nameof(dimension));
        Sum = new float[dimension];
    }

    /// <summary>Restores a persisted state.</summary>
    public UserProfile(float[] sum, long asOf, double mass)
    {
        Sum = sum ?? throw new ArgumentNullException(nameof(sum));
        AsOf = asOf;
        Mass = mass;
    }

    /// <summary>Folds one event in. Events older than <see cref="AsOf"/> are decayed relative to it.</summary>
    /// <param name="itemVector">The item's vector (unit length recommended), same dimension.</param>
    /// <param name="signedWeight">Kind weight × event weight; negative pushes away.</param>
    /// <param name="timestamp">Unix seconds of the event.</param>
    /// <param name="halfLifeSeconds">Time for an event's influence to halve; must be positive.</param>
    public void Add(ReadOnlySpan<float> itemVector, float signedWeight, long timestamp, double halfLifeSeconds)
    {
        if (itemVector.Length != Sum.Length)
            throw new ArgumentException($"item vector has {itemVector.Length} dimensions, the profile {Sum.Length}");
        if (!float.IsFinite(signedWeight)) throw new ArgumentException("event weight must be finite");
        if (!(halfLifeSeconds > 0)) throw new ArgumentOutOfRangeException(nameof(halfLifeSeconds), "half-life must be positive");
        float w = signedWeight;
        if (timestamp >= AsOf)
        {
            // Move the state forward to the new event's time, then add it at full strength.
            float decay = Decay(timestamp - AsOf, halfLifeSeconds);
            if (decay != 1f) TensorPrimitives.Multiply(Sum, decay, Sum);
            Mass *= decay;
            AsOf = timestamp;
        }
        else
        {
            w *= Decay(AsOf - timestamp, halfLifeSeconds); // a late event counts as already decayed
        }
        TensorPrimitives.MultiplyAdd(itemVector, w, Sum, Sum);
        Mass += Math.Abs(w);
    }

    /// <summary>The unit user vector (zero when there is no signal yet); false if there is none.</summary>
    public bool TryGetVector(Span<float> destination)
    {
        if (destination.Length != Sum.Length) throw new ArgumentException("destination has the wrong dimension");
        float norm = TensorPrimitives.Norm(Sum);
        if (!(norm > 1e-12f) || !float.IsFinite(norm))
        {
            destination.Clear();
            return false;
        }
        TensorPrimitives.Multiply(Sum, 1f / norm, destination);
        return true;
    }

    private static float Decay(long seconds, double halfLife) => (float)Math.Pow(2, -seconds / halfLife);
}
