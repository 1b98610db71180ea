using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;

namespace RankEngine.Cluster.Hosting;

/// <summary>How the silos of one cluster find each other (<see cref="ClusterSiloBuilderExtensions.UseRankEngineMembership"/>).</summary>
public enum ClusterMembershipMode
{
    /// <summary>
    /// Orleans development clustering: all silos on one machine, the membership table held in memory by the primary
    /// silo. Nothing survives the primary silo; user grain state is in memory grain storage, not durable.
    /// </summary>
    Localhost,

    /// <summary>
    /// The membership table and the user grain state in one Redis server every silo reaches, so any silo (none is
    /// primary) can die or restart without losing either; they are as durable as that server's persistence.
    /// </summary>
    Redis,
}

/// <summary>
/// Where a silo listens, which cluster it joins and where the cluster keeps its membership and user grain state.
/// Shard grains keep their items elsewhere (<see cref="ClusterCatalogOptions.DataRoot"/>).
/// </summary>
public sealed class ClusterMembershipOptions
{
    /// <summary>
    /// The grain-storage provider user grains persist to (<c>[PersistentState(name, UserStorageName)]</c>): Redis
    /// grain storage in <see cref="ClusterMembershipMode.Redis"/> mode, memory grain storage in
    /// <see cref="ClusterMembershipMode.Localhost"/> mode.
    /// </summary>
    public const string UserStorageName = "rankengine-users";

    private readonly int? _primarySiloPort;

    /// <summary>Membership mode. Default <see cref="ClusterMembershipMode.Localhost"/>.</summary>
    public ClusterMembershipMode Mode { get; init; } = ClusterMembershipMode.Localhost;

    /// <summary>
    /// A StackExchange.Redis configuration string (e.g. <c>"127.0.0.1:6379"</c>, or <c>"host:6379,password=…"</c>);
    /// required in <see cref="ClusterMembershipMode.Redis"/> mode, ignored otherwise.
    /// </summary>
    public string? RedisConfiguration { get; init; }

    /// <summary>The cluster (deployment) this silo joins; silos with another id never see each other. Default "rankengine".</summary>
    public string ClusterId { get; init; } = "rankengine";

    /// <summary>The service, stable across deployments: grain state is keyed by it. Default "rankengine".</summary>
    public string ServiceId { get; init; } = "rankengine";

    /// <summary>Silo-to-silo port. Default 11111.</summary>
    public int SiloPort { get; init; } = 11111;

    /// <summary>Client-to-silo (gateway) port. Default 30000.</summary>
    public int GatewayPort { get; init; } = 30000;

    /// <summary>
    /// The address this silo publishes in the membership table and listens on; other silos and clients connect to it,
    /// so it must be one they reach. Default <see cref="IPAddress.Loopback"/> (a single machine).
    /// </summary>
    public IPAddress AdvertisedAddress { get; init; } = IPAddress.Loopback;

    /// <summary>
    /// <see cref="ClusterMembershipMode.Localhost"/> mode: the silo port of the primary silo (at
    /// <see cref="AdvertisedAddress"/>), which holds the membership table. Default <see cref="SiloPort"/>: this silo
    /// is the primary. Ignored in <see cref="ClusterMembershipMode.Redis"/> mode, which has no primary.
    /// </summary>
    public int PrimarySiloPort
    {
        get => _primarySiloPort ?? SiloPort;
        init => _primarySiloPort = value;
    }

    /// <summary>Whether this silo is the primary of a <see cref="ClusterMembershipMode.Localhost"/> cluster.</summary>
    public bool IsPrimary => PrimarySiloPort == SiloPort;

    /// <summary>Throws <see cref="ArgumentException"/>, one sentence naming the bad setting, when the options cannot work.</summary>
    public void Validate()
    {
        if (!Enum.IsDefined(Mode)) throw new ArgumentException($"Mode must be Localhost or Redis, not {(int)Mode}.");
        CheckPort(nameof(SiloPort), SiloPort);
        CheckPort(nameof(GatewayPort), GatewayPort);
        if (SiloPort == GatewayPort) throw new ArgumentException($"SiloPort and GatewayPort must differ, but both are {SiloPort}.");
        if (string.IsNullOrWhiteSpace(ClusterId)) throw new ArgumentException("ClusterId must not be empty.");
        if (string.IsNullOrWhiteSpace(ServiceId)) throw new ArgumentException("ServiceId must not be empty.");
        if (AdvertisedAddress is null) throw new ArgumentException("AdvertisedAddress must be set.");
        if (AdvertisedAddress.Equals(IPAddress.Any) || AdvertisedAddress.Equals(IPAddress.IPv6Any))
            throw new ArgumentException($"AdvertisedAddress must be an address other silos can connect to, not {AdvertisedAddress}.");
        if (AdvertisedAddress.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
            throw new ArgumentException($"AdvertisedAddress must be an IPv4 or IPv6 address, not {AdvertisedAddress.AddressFamily}.");
        if (Mode == ClusterMembershipMode.Localhost) CheckPort(nameof(PrimarySiloPort), PrimarySiloPort);
        if (Mode == ClusterMembershipMode.Redis) ParseRedisConfiguration();
    }

    /// <summary>The parsed <see cref="RedisConfiguration"/>; throws <see cref="ArgumentException"/> when it is missing, malformed or names no endpoint.</summary>
    internal ConfigurationOptions ParseRedisConfiguration()
    {
        if (string.IsNullOrWhiteSpace(RedisConfiguration))
            throw new ArgumentException("Redis mode needs RedisConfiguration, a StackExchange.Redis configuration string such as \"127.0.0.1:6379\".");
        ConfigurationOptions parsed;
        try
        {
            parsed = ConfigurationOptions.Parse(RedisConfiguration);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"RedisConfiguration is not a valid StackExchange.Redis configuration string: {e.Message}", e);
        }
        if (parsed.EndPoints.Count == 0)
            throw new ArgumentException("RedisConfiguration names no Redis endpoint (host:port).");
        return parsed;
    }

    private static void CheckPort(string name, int port)
    {
        if (port is < 1 or > 65535) throw new ArgumentException($"{name} must be between 1 and 65535, not {port}.");
    }
}
