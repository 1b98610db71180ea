using Xunit;

namespace RankEngine.Tests.Server;

/// <summary>A fresh in-process server over the harness's small catalog for each test class.</summary>
public abstract class SmallCatalogServerTest : IAsyncLifetime
{
    protected ServerHarness _server = null!;

    public async Task InitializeAsync()
    {
        _server = await ServerHarness.StartAsync();
        _server.AddSmallCatalog();
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    protected static byte[] Blob(params float[] v) => ServerHarness.Blob(v);
}
