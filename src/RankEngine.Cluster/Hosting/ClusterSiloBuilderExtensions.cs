using System.Net;
using Orleans.Configuration;
using Orleans.Hosting;
using Microsoft.Extensions.Hosting;

namespace RankEngine.Cluster.Hosting;

/// <summary>
/// Membership and user grain storage of a RankEngine cluster, by <see cref="ClusterMembershipOptions.Mode"/>.
/// What is durable where:
/// <list type="bullet">
/// <item><b>Redis</b>: the membership table (one hash, <c>{ServiceId}/members/{ClusterId}</c>) and the user grain
/// state (<c>{ServiceId}/state/…</c> hashes, provider <see cref="ClusterMembershipOptions.UserStorageName"/>) live in
/// the Redis server, so a silo's death loses neither; both last as long as that server's data (its AOF/RDB settings).</item>
/// <item><b>Localhost</b>: the membership table lives in the primary silo's memory and user grain state in memory
/// grain storage spread over the silos; a silo's death loses the state it held, the primary's the whole cluster.
/// For development and single-machine tests only.</item>
/// </list>
/// Shard grains keep their items in their own stores either way (<see cref="ClusterCatalogOptions.DataRoot"/>).
/// </summary>
public static class ClusterSiloBuilderExtensions
{
    /// <summary>
    /// Validates <paramref name="options"/> (throws <see cref="ArgumentException"/>) and configures this silo's cluster
    /// and service ids, its endpoints (listening on <see cref="ClusterMembershipOptions.AdvertisedAddress"/> only),
    /// its clustering provider and the <see cref="ClusterMembershipOptions.UserStorageName"/> grain storage.
    /// </summary>
    public static ISiloBuilder UseRankEngineMembership(this ISiloBuilder builder, ClusterMembershipOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        switch (options.Mode)
        {
            case ClusterMembershipMode.Localhost:
                var primary = options.IsPrimary ? null : new IPEndPoint(options.AdvertisedAddress, options.PrimarySiloPort);
                // Sets the ids and endpoints too (advertising loopback); ConfigureEndpoints below then applies AdvertisedAddress.
                builder.UseLocalhostClustering(options.SiloPort, options.GatewayPort, primary, options.ServiceId, options.ClusterId);
                // Not durable: each state lives in a memory storage grain on some silo and goes with it.
                builder.AddMemoryGrainStorage(ClusterMembershipOptions.UserStorageName);
                break;
            case ClusterMembershipMode.Redis:
                // Each provider opens its own connection; ConfigurationOptions is mutable, so each gets its own parse.
                builder.UseRedisClustering(clustering => clustering.ConfigurationOptions = options.ParseRedisConfiguration());
                builder.AddRedisGrainStorage(ClusterMembershipOptions.UserStorageName,
                    (Orleans.Persistence.RedisStorageOptions storage) => storage.ConfigurationOptions = options.ParseRedisConfiguration());
                break;
        }
        builder.Configure<ClusterOptions>(cluster =>
        {
            cluster.ClusterId = options.ClusterId;
            cluster.ServiceId = options.ServiceId;
        });
        builder.ConfigureEndpoints(options.AdvertisedAddress, options.SiloPort, options.GatewayPort, listenOnAnyHostAddress: false);
        return builder;
    }

    /// <summary>
    /// Configures a client of the cluster <paramref name="options"/> describes (validated; throws
    /// <see cref="ArgumentException"/>): its cluster and service ids and where it finds gateways — every active silo's
    /// from the Redis membership table, or in Localhost mode the one at <see cref="ClusterMembershipOptions.GatewayPort"/>.
    /// </summary>
    public static IClientBuilder UseRankEngineMembership(this IClientBuilder builder, ClusterMembershipOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        switch (options.Mode)
        {
            case ClusterMembershipMode.Localhost:
                builder.UseStaticClustering(new IPEndPoint(options.AdvertisedAddress, options.GatewayPort));
                break;
            case ClusterMembershipMode.Redis:
                builder.UseRedisClustering(clustering => clustering.ConfigurationOptions = options.ParseRedisConfiguration());
                break;
        }
        builder.Configure<ClusterOptions>(cluster =>
        {
            cluster.ClusterId = options.ClusterId;
            cluster.ServiceId = options.ServiceId;
        });
        return builder;
    }
}
