using System.Diagnostics;
using Orleans.TestingHost;
using RankEngine.Cluster;
using Xunit;

namespace RankEngine.Tests.Cluster;

/// <summary>The options a test cluster deploys its shard grains with: static, because Orleans makes silo configurators by type.</summary>
public interface IShardClusterOptions
{
    static abstract ClusterCatalogOptions Options { get; }

    /// <summary>Where user grains keep their state: memory storage unless a fixture says otherwise (Redis, to survive a silo).</summary>
    static virtual void AddUserStorage(ISiloBuilder siloBuilder) => siloBuilder.AddMemoryGrainStorage(UserGrain.StorageName);
}

/// <summary>
/// Three in-process silos hosting shard grains with <typeparamref name="TOptions"/>'s options, shared by a test class;
/// its data root (if any) is removed when the tests are done.
/// </summary>
public abstract class ThreeSiloShardCluster<TOptions> : IAsyncLifetime where TOptions : IShardClusterOptions
{
    public TestCluster Cluster { get; private set; } = null!;
    public TimeSpan StartTime { get; private set; }

    public async Task InitializeAsync()
    {
        var watch = Stopwatch.StartNew();
        var builder = new TestClusterBuilder(3);
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        Cluster = builder.Build();
        await Cluster.DeployAsync();
        StartTime = watch.Elapsed;
    }

    public virtual async Task DisposeAsync()
    {
        if (Cluster is not null) await Cluster.DisposeAsync();
        if (TOptions.Options.DataRoot is { } root)
            try { Directory.Delete(root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            TOptions.AddUserStorage(siloBuilder);
            siloBuilder.Services.AddRankEngineShards(TOptions.Options);
        }
    }
}
