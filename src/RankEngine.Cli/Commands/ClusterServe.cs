using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RankEngine.Cluster;
using RankEngine.Cluster.Hosting;
using RankEngine.Compute;
using RankEngine.Encoders;
using RankEngine.Server;
using RankEngine.Server.Hosting;

namespace RankEngine.Cli.Commands;

/// <summary>The cluster part of <c>serve</c>'s configuration (section <c>RankEngine:Cluster</c>); docs/cluster.md.</summary>
internal sealed class ClusterServeSettings
{
    public const string SectionName = ServeEngineSettings.SectionName + ":Cluster";

    /// <summary>Run as one silo of a cluster (catalog shards and users in grains) instead of a single node.</summary>
    public bool Enabled { get; set; }

    /// <summary>Redis membership (StackExchange.Redis configuration, e.g. 127.0.0.1:6379); null: localhost development clustering.</summary>
    public string? Redis { get; set; }

    public string ClusterId { get; set; } = "rankengine";

    /// <summary>Catalog shards (grains) of the whole cluster: every silo must say the same.</summary>
    public int Shards { get; set; } = 12;

    public int SiloPort { get; set; } = 11111;
    public int GatewayPort { get; set; } = 30000;

    /// <summary>Localhost clustering: the primary silo's port (default: this silo is the primary).</summary>
    public int? PrimarySiloPort { get; set; }

    /// <summary>The address other silos reach this one at (default 127.0.0.1).</summary>
    public string AdvertisedAddress { get; set; } = "127.0.0.1";

    /// <summary>Collab vector width of the cluster's schema (as a single node's default).</summary>
    public int CollabDimension { get; set; } = 32;

    public ClusterMembershipOptions ToMembership()
    {
        if (!IPAddress.TryParse(AdvertisedAddress, out var address))
            throw new ArgumentException($"invalid configuration: {SectionName}:AdvertisedAddress '{AdvertisedAddress}' is not an IP address");
        var options = new ClusterMembershipOptions
        {
            Mode = Redis is null ? ClusterMembershipMode.Localhost : ClusterMembershipMode.Redis,
            RedisConfiguration = Redis,
            ClusterId = ClusterId,
            SiloPort = SiloPort,
            GatewayPort = GatewayPort,
            PrimarySiloPort = PrimarySiloPort ?? SiloPort,
            AdvertisedAddress = address,
        };
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"invalid configuration: {SectionName}: {e.Message}");
        }
        if (Shards is < 1 or > 4096) throw new ArgumentException($"invalid configuration: {SectionName}:Shards is {Shards}: must be 1..4096");
        if (CollabDimension is < 0 or > 4096) throw new ArgumentException($"invalid configuration: {SectionName}:CollabDimension is {CollabDimension}: must be 0..4096");
        return options;
    }
}

/// <summary>
/// <c>serve --cluster</c>: one process is one Orleans silo (membership by Redis, or localhost for development)
/// hosting shard and user grains, and a RESP front end over the whole cluster: the same protocol code as a single
/// node, in front of a <see cref="ClusterRankingService"/> instead of an embedded engine.
/// </summary>
internal static class ClusterServe
{
    public static async Task RunAsync(HostApplicationBuilder builder, ServeEngineSettings engine, ClusterServeSettings cluster, RankServerOptions server,
        string? modelPath, CancellationToken cancellation)
    {
        var membership = cluster.ToMembership();
        // Settings of a single node's own catalog that a cluster does not have (its shards are --shards grains).
        if (engine.Quantization != CatalogQuantization.None)
            Console.Error.WriteLine($"warning: RankEngine:Quantization {engine.Quantization} is ignored on a cluster: shard grains scan fp32");
        if (engine.CatalogShards != 1)
            Console.Error.WriteLine("warning: RankEngine:CatalogShards is ignored on a cluster: give --shards (RankEngine:Cluster:Shards) instead");
        if (membership.Mode == ClusterMembershipMode.Redis) await CheckRedisAsync(membership.RedisConfiguration!);
        IComputeBackend? backend = null;
        TextEncoder? encoder = null;
        if (modelPath is not null)
        {
            backend = BackendFactory.Create(engine.Backend);
            encoder = TextEncoder.Open(modelPath, backend);
        }
        int contentDim = encoder?.Dimension ?? engine.ContentDimension
            ?? throw new ArgumentException("a cluster needs the content width: give --model or --content-dim");
        var vectors = new List<ClusterVector> { new("content", contentDim) };
        if (cluster.CollabDimension > 0) vectors.Add(new ClusterVector("collab", cluster.CollabDimension));
        var catalog = new ClusterCatalogOptions(cluster.Shards, vectors, collabVector: cluster.CollabDimension > 0 ? "collab" : null)
        {
            // Every silo's shard stores under one directory, which must be shared by every silo (docs/cluster.md).
            DataRoot = Path.GetFullPath(engine.DataDirectory),
        };
        // A RESP session waits for the grains on its thread: enough pool threads that waiting sessions do not starve the replies they wait for.
        ThreadPool.GetMinThreads(out int workers, out int io);
        ThreadPool.SetMinThreads(Math.Max(workers, 128), Math.Max(io, 128));

        // Orleans logs every membership step at Information; keep the console to warnings unless the Logging section asks otherwise.
        if (builder.Configuration["Logging:LogLevel:Orleans"] is null) builder.Logging.AddFilter("Orleans", LogLevel.Warning);
        // Orleans' placement retries log through Polly at Information: thousands of lines per silo under load.
        if (builder.Configuration["Logging:LogLevel:Polly"] is null) builder.Logging.AddFilter("Polly", LogLevel.Warning);
        builder.UseOrleans(silo => silo.UseRankEngineMembership(membership).Services.AddRankEngineShards(catalog));
        ClusterRankingService? frontEnd = null;
        builder.Services.AddRankEngineServer(sp =>
        {
            var grains = sp.GetRequiredService<IGrainFactory>();
            var silo = sp.GetRequiredService<Orleans.Runtime.ILocalSiloDetails>();
            frontEnd = new ClusterRankingService(grains, catalog, encoder, backend,
                membership: () => MembershipInfo(grains, silo, membership, catalog), model: sp.GetRequiredService<SharedModel>());
            return frontEnd;
        }, server);
        try
        {
            using var host = builder.Build();
            Console.Error.WriteLine($"cluster '{membership.ClusterId}': silo {membership.AdvertisedAddress}:{membership.SiloPort} " +
                $"({(membership.Mode == ClusterMembershipMode.Redis ? "Redis membership at " + membership.RedisConfiguration : "localhost clustering")}), " +
                $"{catalog.ShardCount} shards under {catalog.DataRoot}");
            await host.RunAsync(cancellation);
        }
        finally
        {
            if (frontEnd is not null) frontEnd.Dispose();
            else
            {
                encoder?.Dispose();
                backend?.Dispose();
            }
        }
    }

    /// <summary>
    /// Connects to the membership Redis once before the silo starts: an unreachable server is then one clear line,
    /// not Orleans' start-up failure (a page of stack traces per lifecycle stage).
    /// </summary>
    private static async Task CheckRedisAsync(string configuration)
    {
        var options = StackExchange.Redis.ConfigurationOptions.Parse(configuration);
        options.ConnectTimeout = 5000;
        options.AbortOnConnectFail = true;
        try
        {
            await using var connection = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(options);
            await connection.GetDatabase().PingAsync();
        }
        catch (Exception e) when (e is StackExchange.Redis.RedisException or TimeoutException)
        {
            string why = e.Message.Split('.', 2)[0];
            throw new IOException($"cannot reach the membership Redis at {string.Join(",", options.EndPoints)}: {why} (start redis-server, or check --redis)");
        }
    }

    private static IReadOnlyList<KeyValuePair<string, string>> MembershipInfo(IGrainFactory grains, Orleans.Runtime.ILocalSiloDetails silo,
        ClusterMembershipOptions membership, ClusterCatalogOptions catalog)
    {
        var lines = new List<KeyValuePair<string, string>>
        {
            new("cluster_id", membership.ClusterId),
            new("cluster_membership", membership.Mode == ClusterMembershipMode.Redis ? "redis" : "localhost"),
            new("cluster_silo", silo.SiloAddress.ToParsableString()),
            new("cluster_data_root", catalog.DataRoot ?? "none"),
        };
        try
        {
            var hosts = grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true).WaitAsync(TimeSpan.FromSeconds(2)).GetAwaiter().GetResult();
            lines.Add(new("cluster_active_silos", hosts.Count.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
        catch (Exception e) when (e is TimeoutException or OrleansException)
        {
            lines.Add(new("cluster_active_silos", "unknown (" + e.GetType().Name + ")"));
        }
        // Which shards this silo hosts now (asking a shard where it runs activates it if it was not yet).
        try
        {
            string here = silo.SiloAddress.ToParsableString();
            var where = Task.WhenAll(Enumerable.Range(0, catalog.ShardCount).Select(s => grains.GetGrain<IShardGrain>(s).SiloAddress()))
                .WaitAsync(TimeSpan.FromSeconds(2)).GetAwaiter().GetResult();
            var local = Enumerable.Range(0, where.Length).Where(s => where[s] == here).ToArray();
            lines.Add(new("cluster_local_shards", local.Length == 0 ? "none" : string.Join(",", local)));
        }
        catch (Exception e) when (e is TimeoutException or OrleansException)
        {
            lines.Add(new("cluster_local_shards", "unknown (" + e.GetType().Name + ")"));
        }
        return lines;
    }
}
