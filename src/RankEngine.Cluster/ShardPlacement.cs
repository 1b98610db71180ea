using Orleans.Placement;
using Orleans.Runtime;
using Orleans.Runtime.Placement;

namespace RankEngine.Cluster;

/// <summary>
/// Places shard grain <c>i</c> on the <c>i mod n</c>-th of the <c>n</c> compatible silos (ordered by address), so
/// the shards spread evenly: with one machine per silo the busiest silo bounds a whole-catalog RANK, and Orleans'
/// default placement gave 2/5/5 or 6/3/3 of 12 shards over 3 silos. A shard re-activated after its silo died lands
/// by the same rule among the silos left.
/// </summary>
[Serializable, GenerateSerializer, Immutable, SuppressReferenceTracking]
public sealed class ShardPlacementStrategy : PlacementStrategy
{
    internal static readonly ShardPlacementStrategy Instance = new();
}

/// <summary>Marks a grain class as placed by <see cref="ShardPlacementStrategy"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class ShardPlacementAttribute() : PlacementAttribute(ShardPlacementStrategy.Instance);

internal sealed class ShardPlacementDirector : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var silos = context.GetCompatibleSilos(target).ToArray();
        if (silos.Length == 0) throw new OrleansException("no silo can host a shard grain");
        Array.Sort(silos, static (a, b) => string.CompareOrdinal(a.ToParsableString(), b.ToParsableString()));
        long key = target.GrainIdentity.GetIntegerKey();
        return Task.FromResult(silos[(int)((ulong)key % (ulong)silos.Length)]);
    }
}
