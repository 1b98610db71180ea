using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Runtime;
using RankEngine.Cluster;
using RankEngine.Cluster.Hosting;
using RankEngine.Tests.Catalog;
using RankEngine.Tests.Support;
using StackExchange.Redis;
using Xunit;
using Xunit.Abstractions;

namespace RankEngine.Tests.Cluster;

/// <summary>A test-only user grain: one string persisted to <see cref="ClusterMembershipOptions.UserStorageName"/>.</summary>
public interface IUserStateProbeGrain : IGrainWithStringKey
{
    /// <summary>Sets the value and writes the state; returns the silo address that ran it.</summary>
    Task<string> Write(string value);

    /// <summary>The state this activation read from storage, and the silo address it runs on.</summary>
    Task<UserStateProbe> Read();
}

[GenerateSerializer]
public sealed class UserProbeState
{
    [Id(0)] public string? Value { get; set; }
    [Id(1)] public int Writes { get; set; }
}

[GenerateSerializer]
public sealed record UserStateProbe([property: Id(0)] string? Value, [property: Id(1)] int Writes, [property: Id(2)] bool RecordExists, [property: Id(3)] string Silo);

internal sealed class UserStateProbeGrain([PersistentState("state", ClusterMembershipOptions.UserStorageName)] IPersistentState<UserProbeState> state)
    : Grain, IUserStateProbeGrain
{
    public async Task<string> Write(string value)
    {
        state.State.Value = value;
        state.State.Writes++;
        await state.WriteStateAsync();
        return Silo;
    }

    public Task<UserStateProbe> Read() => Task.FromResult(new UserStateProbe(state.State.Value, state.State.Writes, state.RecordExists, Silo));

    private string Silo => GrainContext.Address.SiloAddress!.ToParsableString();
}

/// <summary>
/// Silos in separate generic hosts that find each other only through a real redis-server: they all become active
/// members, the membership table is that server's hash <c>{ServiceId}/members/{ClusterId}</c>, the shard grains
/// spread over the silos and rank exactly like a brute-force scan, a gracefully stopped silo leaves the membership
/// (its row marked dead in Redis), and user grain state written to Redis is read back on another silo after the
/// silo that wrote it stopped.
/// </summary>
public sealed class RedisMembershipTests(ITestOutputHelper output)
{
    private const int Shards = 8;
    private const int Dim = 8;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private static readonly ClusterCatalogOptions Catalog = new(Shards, [new ClusterVector("content", Dim)]);

    [Fact]
    public async Task Three_silos_join_through_redis_spread_the_shards_rank_exactly_and_a_stopped_silo_leaves()
    {
        var watch = Stopwatch.StartNew();
        await using var redis = await RedisServerProcess.StartAsync();
        string clusterId = $"membership-{Guid.NewGuid():N}";
        var ports = LoopbackPorts.Free(6);
        var silos = new List<IHost>();
        IHost? client = null;
        try
        {
            for (int i = 0; i < 3; i++) silos.Add(await StartSilo(Membership(redis, clusterId, ports[2 * i], ports[2 * i + 1])));
            var addresses = silos.Select(AddressOf).ToArray();
            output.WriteLine($"redis-server on {redis.Port}; 3 silos started after {watch.Elapsed.TotalSeconds:F1} s: {string.Join(", ", addresses.Select(a => a.ToParsableString()))}");

            // The three of them active, through the management grain and in each silo's own view.
            foreach (var silo in silos) await WaitForActiveHosts(silo, addresses, "after the start");
            output.WriteLine($"all three active after {watch.Elapsed.TotalSeconds:F1} s");

            // The membership table lives in that redis-server: one hash, a version row and one row per silo.
            string tableKey = $"rankengine/members/{clusterId}";
            Assert.Equal(RedisType.Hash, await redis.Database.KeyTypeAsync(tableKey));
            var rows = await MembershipRows(redis, tableKey);
            Assert.Equal(addresses.Select(a => a.ToString()).Order(StringComparer.Ordinal), rows.Keys.Order(StringComparer.Ordinal));
            Assert.All(rows.Values, s => Assert.Equal(SiloStatus.Active, s));
            Assert.True((await redis.Database.HashGetAsync(tableKey, "Version")).HasValue, "the membership hash has no Version row");
            output.WriteLine($"redis keys: {string.Join(", ", await Keys(redis))}");

            // A client that finds the gateways through Redis too; its calls go through all three gateways, so placement spreads.
            client = await StartClient(Membership(redis, clusterId, ports[0], ports[1]));
            var cluster = new ClusterCatalog(client.Services.GetRequiredService<IClusterClient>(), Catalog);
            var rng = new Random(2024);
            var items = new List<ClusterItem>();
            for (int i = 0; i < 200; i++)
                items.Add(new ClusterItem($"v-{i:D3}", new() { ["content"] = CatalogKit.Unit(ClusterCatalogTests.Gaussian(rng, Dim)) }));
            await cluster.UpsertManyAsync(items);
            Assert.Equal(items.Count, await cluster.CountAsync());

            var shardHosts = await Task.WhenAll(Enumerable.Range(0, Shards).Select(s => cluster.Shard(s).SiloAddress()));
            var perSilo = shardHosts.GroupBy(h => h).ToDictionary(g => g.Key, g => g.Count());
            output.WriteLine($"shard grains per silo: {string.Join(", ", perSilo.Select(p => $"{p.Key}: {p.Value}"))}");
            Assert.All(shardHosts, h => Assert.Contains(h, addresses.Select(a => a.ToParsableString())));
            Assert.True(perSilo.Count > 1, $"all {Shards} shard grains landed on one silo ({shardHosts[0]})");

            for (int q = 0; q < 5; q++)
            {
                var query = CatalogKit.Unit(ClusterCatalogTests.Gaussian(rng, Dim));
                var expected = BruteForceTop(items, query, 10);
                var hits = await cluster.SearchAsync(new ClusterQuery { Content = query, ContentWeight = 1f, K = 10 });
                Assert.Equal(expected.Select(e => e.Id), hits.Select(h => h.Id));
                for (int i = 0; i < hits.Length; i++) Assert.Equal(expected[i].Score, hits[i].Score, 1e-5);
            }
            output.WriteLine($"5 searches equal to the brute-force top 10 after {watch.Elapsed.TotalSeconds:F1} s");

            // Stop the non-first silo hosting the most shards, gracefully: the others drop it from the active members.
            int ShardsOn(int silo) => perSilo.GetValueOrDefault(addresses[silo].ToParsableString());
            int victim = ShardsOn(1) >= ShardsOn(2) ? 1 : 2;
            var stopping = Stopwatch.StartNew();
            await silos[victim].StopAsync();
            output.WriteLine($"stopped silo {victim} ({addresses[victim]}, {ShardsOn(victim)} shards) in {stopping.Elapsed.TotalSeconds:F1} s");
            silos[victim].Dispose();
            silos.RemoveAt(victim);
            var remaining = addresses.Where((_, i) => i != victim).ToArray();
            foreach (var silo in silos) await WaitForActiveHosts(silo, remaining, "after the stop");
            output.WriteLine($"the other two see two active members {stopping.Elapsed.TotalSeconds:F1} s after the stop began");
            Assert.Equal(SiloStatus.Dead, (await MembershipRows(redis, tableKey))[addresses[victim].ToString()]);
        }
        finally
        {
            if (client is not null) await StopAll([client]);
            await StopAll(silos);
            output.WriteLine($"total {watch.Elapsed.TotalSeconds:F1} s");
        }
    }

    [Fact]
    public async Task User_grain_state_in_redis_is_read_back_on_another_silo_after_its_silo_stopped()
    {
        var watch = Stopwatch.StartNew();
        await using var redis = await RedisServerProcess.StartAsync();
        string clusterId = $"storage-{Guid.NewGuid():N}";
        var ports = LoopbackPorts.Free(4);
        var silos = new List<IHost>();
        try
        {
            for (int i = 0; i < 2; i++) silos.Add(await StartSilo(Membership(redis, clusterId, ports[2 * i], ports[2 * i + 1])));
            var addresses = silos.Select(AddressOf).ToArray();
            foreach (var silo in silos) await WaitForActiveHosts(silo, addresses, "after the start");

            var grains = silos[0].Services.GetRequiredService<IGrainFactory>();
            var probe = grains.GetGrain<IUserStateProbeGrain>("user-42");
            await probe.Write("first");
            string writer = await probe.Write("second");
            var written = await probe.Read();
            Assert.Equal(new UserStateProbe("second", 2, true, writer), written);

            // The state is in the redis-server: one hash under {ServiceId}/state/, with an etag and the data.
            var stateKeys = (await Keys(redis)).Where(k => k.StartsWith("rankengine/state/", StringComparison.Ordinal)).ToArray();
            output.WriteLine($"state keys: {string.Join(", ", stateKeys)}");
            var stateKey = Assert.Single(stateKeys);
            Assert.Contains("user-42", stateKey);
            Assert.Equal(new[] { "data", "etag" }, (await redis.Database.HashKeysAsync(stateKey)).Select(k => k.ToString()).Order(StringComparer.Ordinal));

            int host = Array.FindIndex(addresses, a => a.ToParsableString() == writer);
            Assert.True(host >= 0, $"the grain ran on {writer}, not one of the silos");
            await silos[host].StopAsync();
            silos[host].Dispose();
            silos.RemoveAt(host);
            output.WriteLine($"stopped the writer's silo {writer} after {watch.Elapsed.TotalSeconds:F1} s");

            var other = silos[0].Services.GetRequiredService<IGrainFactory>().GetGrain<IUserStateProbeGrain>("user-42");
            var read = await other.Read();
            Assert.NotEqual(writer, read.Silo);
            Assert.Equal(AddressOf(silos[0]).ToParsableString(), read.Silo);
            Assert.Equal(new UserStateProbe("second", 2, true, read.Silo), read);
            output.WriteLine($"read back on {read.Silo} after {watch.Elapsed.TotalSeconds:F1} s");
        }
        finally
        {
            await StopAll(silos);
            output.WriteLine($"total {watch.Elapsed.TotalSeconds:F1} s");
        }
    }

    [Fact]
    public async Task Localhost_mode_joins_a_secondary_to_the_primary_and_keeps_user_state_in_memory_storage()
    {
        var ports = LoopbackPorts.Free(4);
        string clusterId = $"localhost-{Guid.NewGuid():N}";
        var primary = new ClusterMembershipOptions { ClusterId = clusterId, SiloPort = ports[0], GatewayPort = ports[1] };
        var secondary = new ClusterMembershipOptions { ClusterId = clusterId, SiloPort = ports[2], GatewayPort = ports[3], PrimarySiloPort = ports[0] };
        Assert.True(primary.IsPrimary);
        Assert.False(secondary.IsPrimary);
        var silos = new List<IHost>();
        try
        {
            silos.Add(await StartSilo(primary));
            silos.Add(await StartSilo(secondary));
            var addresses = silos.Select(AddressOf).ToArray();
            Assert.Equal([ports[0], ports[2]], addresses.Select(a => a.Endpoint.Port));
            Assert.All(addresses, a => Assert.Equal(IPAddress.Loopback, a.Endpoint.Address));
            foreach (var silo in silos) await WaitForActiveHosts(silo, addresses, "after the start");

            var probe = silos[1].Services.GetRequiredService<IGrainFactory>().GetGrain<IUserStateProbeGrain>("user-7");
            string writer = await probe.Write("kept in memory");
            Assert.Equal(new UserStateProbe("kept in memory", 1, true, writer), await probe.Read());
        }
        finally
        {
            // The secondary first: the primary holds the membership table.
            for (int i = silos.Count - 1; i >= 0; i--) await StopAll([silos[i]]);
        }
    }

    [Fact]
    public async Task A_missing_redis_server_fails_the_test_and_says_how_to_install_it()
    {
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => RedisServerProcess.StartAsync("/nonexistent/redis-server"));
        Assert.Equal("/nonexistent/redis-server is missing; install the Debian package redis-server (tools/setup-deps.sh does).", e.Message);
    }

    [Fact]
    public void Validate_names_the_bad_setting_in_one_sentence()
    {
        new ClusterMembershipOptions().Validate();
        new ClusterMembershipOptions { Mode = ClusterMembershipMode.Redis, RedisConfiguration = "127.0.0.1:6379,password=x" }.Validate();
        new ClusterMembershipOptions { SiloPort = 11112, PrimarySiloPort = 11111, GatewayPort = 30001 }.Validate();

        void Bad(ClusterMembershipOptions options, string message) =>
            Assert.Equal(message, Assert.Throws<ArgumentException>(options.Validate).Message);

        Bad(new() { SiloPort = 0 }, "SiloPort must be between 1 and 65535, not 0.");
        Bad(new() { SiloPort = 65536 }, "SiloPort must be between 1 and 65535, not 65536.");
        Bad(new() { GatewayPort = -1 }, "GatewayPort must be between 1 and 65535, not -1.");
        Bad(new() { SiloPort = 30000 }, "SiloPort and GatewayPort must differ, but both are 30000.");
        Bad(new() { PrimarySiloPort = 70000 }, "PrimarySiloPort must be between 1 and 65535, not 70000.");
        Bad(new() { ClusterId = " " }, "ClusterId must not be empty.");
        Bad(new() { ServiceId = "" }, "ServiceId must not be empty.");
        Bad(new() { AdvertisedAddress = IPAddress.Any }, "AdvertisedAddress must be an address other silos can connect to, not 0.0.0.0.");
        Bad(new() { Mode = (ClusterMembershipMode)7 }, "Mode must be Localhost or Redis, not 7.");
        Bad(new() { Mode = ClusterMembershipMode.Redis },
            "Redis mode needs RedisConfiguration, a StackExchange.Redis configuration string such as \"127.0.0.1:6379\".");
        Bad(new() { Mode = ClusterMembershipMode.Redis, RedisConfiguration = "password=secret" }, "RedisConfiguration names no Redis endpoint (host:port).");
        Assert.StartsWith("RedisConfiguration is not a valid StackExchange.Redis configuration string: ",
            Assert.Throws<ArgumentException>(new ClusterMembershipOptions { Mode = ClusterMembershipMode.Redis, RedisConfiguration = "127.0.0.1:6379,connectTimeout=soon" }.Validate).Message);

        // The primary silo port only matters in localhost mode; the default is this silo (the primary).
        Assert.Equal(11111, new ClusterMembershipOptions().PrimarySiloPort);
        Assert.True(new ClusterMembershipOptions { SiloPort = 12000, GatewayPort = 12001 }.IsPrimary);
        new ClusterMembershipOptions { Mode = ClusterMembershipMode.Redis, RedisConfiguration = "127.0.0.1:6379", PrimarySiloPort = 0 }.Validate();
    }

    /// <summary>
    /// Redis membership on the test's server. Its commands may wait up to 30 s (StackExchange.Redis' default: 5 s):
    /// StackExchange.Redis 3 (which this test project pins) reads its sockets on the shared thread pool, and with the
    /// other tests running alongside on two cores a read can sit queued for seconds, which fails a grain-state write.
    /// </summary>
    private static ClusterMembershipOptions Membership(RedisServerProcess redis, string clusterId, int siloPort, int gatewayPort) => new()
    {
        Mode = ClusterMembershipMode.Redis,
        RedisConfiguration = $"{redis.Configuration},asyncTimeout=30000,syncTimeout=30000",
        ClusterId = clusterId,
        SiloPort = siloPort,
        GatewayPort = gatewayPort,
    };

    /// <summary>A silo in its own generic host (no default configuration sources or loggers), started.</summary>
    private static async Task<IHost> StartSilo(ClusterMembershipOptions membership)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.UseOrleans(silo => silo.UseRankEngineMembership(membership).Services.AddRankEngineShards(Catalog));
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    private static async Task<IHost> StartClient(ClusterMembershipOptions membership)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.UseOrleansClient(client => client.UseRankEngineMembership(membership));
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    private static SiloAddress AddressOf(IHost silo) => silo.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress;

    /// <summary>
    /// Polls until the active members are exactly <paramref name="expected"/>, as the management grain reports them
    /// (<c>GetHosts</c>, which re-reads the table first) when called from this silo, and in this silo's own
    /// membership view (what it routes by; updated by gossip and its periodic table reads).
    /// </summary>
    private static async Task WaitForActiveHosts(IHost silo, SiloAddress[] expected, string when)
    {
        var management = silo.Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0);
        var membership = silo.Services.GetRequiredService<IClusterMembershipService>();
        var want = expected.Select(a => a.ToParsableString()).Order(StringComparer.Ordinal).ToArray();
        var watch = Stopwatch.StartNew();
        string[] hosts = [], local = [];
        while (watch.Elapsed < Deadline)
        {
            hosts = [.. (await management.GetHosts(onlyActive: true)).Keys.Select(a => a.ToParsableString()).Order(StringComparer.Ordinal)];
            local = [.. membership.CurrentSnapshot.Members.Values.Where(m => m.Status == SiloStatus.Active).Select(m => m.SiloAddress.ToParsableString())
                .Order(StringComparer.Ordinal)];
            if (hosts.SequenceEqual(want) && local.SequenceEqual(want)) return;
            await Task.Delay(100);
        }
        Assert.Fail($"{when}: after {Deadline.TotalSeconds:F0} s GetHosts gives [{string.Join(", ", hosts)}] and {AddressOf(silo)}'s own view " +
                    $"[{string.Join(", ", local)}], expected [{string.Join(", ", want)}]");
    }

    /// <summary>The membership rows of the Redis hash: silo address (its field name) to status.</summary>
    private static async Task<Dictionary<string, SiloStatus>> MembershipRows(RedisServerProcess redis, string tableKey)
    {
        var rows = new Dictionary<string, SiloStatus>();
        foreach (var entry in await redis.Database.HashGetAllAsync(tableKey))
        {
            if (entry.Name == "Version") continue;
            using var json = JsonDocument.Parse(entry.Value.ToString());
            rows[entry.Name.ToString()] = (SiloStatus)json.RootElement.GetProperty("Status").GetInt32();
        }
        return rows;
    }

    /// <summary>Every key of the server, ordinal order (SCAN, asynchronously: no pool thread blocks on the reply).</summary>
    private static async Task<string[]> Keys(RedisServerProcess redis)
    {
        var keys = new List<string>();
        await foreach (var key in redis.Connection.GetServer(redis.Connection.GetEndPoints()[0]).KeysAsync(pattern: "*")) keys.Add(key.ToString());
        return [.. keys.Order(StringComparer.Ordinal)];
    }

    /// <summary>The top k by dot product with <paramref name="query"/>, score descending then id ordinal.</summary>
    private static (string Id, float Score)[] BruteForceTop(List<ClusterItem> items, float[] query, int k)
    {
        var scored = new List<(string Id, float Score)>(items.Count);
        foreach (var item in items)
        {
            var v = item.Vectors["content"];
            float dot = 0;
            for (int i = 0; i < v.Length; i++) dot += v[i] * query[i];
            scored.Add((item.Id, dot));
        }
        return [.. scored.OrderByDescending(s => s.Score).ThenBy(s => s.Id, StringComparer.Ordinal).Take(k)];
    }

    private static async Task StopAll(List<IHost> hosts)
    {
        await Task.WhenAll(hosts.Select(async h =>
        {
            try { await h.StopAsync(); } finally { h.Dispose(); }
        }));
    }
}
