using System.Diagnostics;
using System.Text.RegularExpressions;
using RankEngine.Client;
using RankEngine.Tests.Support;
using Xunit;

namespace RankEngine.Tests.Server;

/// <summary>
/// The real <c>rankengine serve</c> in a child process: options and the auth-token variable are wired, and every write
/// the server acknowledged is still there after the process is killed with SIGKILL and restarted.
/// </summary>
public sealed class ServeProcessTests
{
    private static Process StartServe(string dataDir, string token)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "RankEngine.Cli.dll"));
        foreach (var a in new[] { "serve", "--data-dir", dataDir, "--content-dim", "4", "--port", "0", "--http-port", "0" })
            start.ArgumentList.Add(a);
        start.Environment["RANKENGINE_AUTH_TOKEN"] = token;
        return Process.Start(start) ?? throw new InvalidOperationException("could not start rankengine serve");
    }

    /// <summary>Reads the child's log until it says where it listens.</summary>
    private static async Task<int> BoundPort(Process serve)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            string? line = await serve.StandardOutput.ReadLineAsync(timeout.Token);
            if (line is null) throw new InvalidOperationException($"serve exited: {await serve.StandardError.ReadToEndAsync()}");
            var match = Regex.Match(line, @"listening on 127\.0\.0\.1:(\d+) \(AUTH required\)");
            if (match.Success) return int.Parse(match.Groups[1].Value);
        }
    }

    [Fact]
    public async Task AcknowledgedWritesSurviveKillNine()
    {
        using var dir = new TempDir();
        var first = StartServe(dir.Path, "tok");
        try
        {
            int port = await BoundPort(first);
            await using var client = await RankEngineClient.ConnectAsync("127.0.0.1", port, new RankEngineClientOptions { AuthToken = "tok" });
            var pending = new List<Task>();
            for (int i = 0; i < 50; i++)
                pending.Add(client.AddItemVectorAsync($"k{i}", new float[] { 1, i, 0, 0 }, [ItemField.Num("popularity", i)]));
            await Task.WhenAll(pending);
            await client.RecordEventAsync("u", "k7", EventKind.Like);
            Assert.True(await client.DeleteItemAsync("k0"));
        }
        finally
        {
            first.Kill(); // SIGKILL: no shutdown, no checkpoint
            await first.WaitForExitAsync();
        }

        var second = StartServe(dir.Path, "tok");
        try
        {
            int port = await BoundPort(second);
            await using var client = await RankEngineClient.ConnectAsync("127.0.0.1", port, new RankEngineClientOptions { AuthToken = "tok" });
            Assert.Null(await client.GetItemAsync("k0"));
            for (int i = 1; i < 50; i++)
            {
                var item = await client.GetItemAsync($"k{i}");
                Assert.NotNull(item);
                Assert.Equal(i, item!.Fields.Single().Number);
            }
            var user = await client.GetUserAsync("u");
            Assert.Equal("k7", Assert.Single(user!.Events).ItemId);
            Assert.Equal("49", (await client.InfoAsync("engine"))["items"]);
            var e = await Assert.ThrowsAsync<RankEngineServerException>(() => client.ExecuteAsync("AUTH", "wrong"));
            Assert.Equal("WRONGPASS", e.Code);
        }
        finally
        {
            second.Kill();
            await second.WaitForExitAsync();
        }
    }
}
