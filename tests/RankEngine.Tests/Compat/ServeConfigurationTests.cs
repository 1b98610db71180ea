using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using RankEngine.Tests.Support;
using Xunit;

namespace RankEngine.Tests.Compat;

/// <summary>
/// <c>rankengine serve</c> takes its settings the .NET way: appsettings.json, appsettings.{Environment}.json,
/// <c>--config</c>, <c>RANKENGINE__…</c> environment variables and the command line, in that order of precedence;
/// the standard Logging section (JSON console); bad values stop it at start-up with one line.
/// </summary>
public sealed class ServeConfigurationTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private void Write(string name, object settings) => File.WriteAllText(_dir.File(name), JsonSerializer.Serialize(settings));

    private static object Settings(int maxConnections) => new
    {
        RankEngine = new { DataDirectory = "store", ContentDimension = 4, Server = new { Port = 0, HttpPort = 0, Limits = new { MaxConnections = maxConnections } } },
    };

    private static ProcessStartInfo Serve(string workingDirectory, Dictionary<string, string> env, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = workingDirectory,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "RankEngine.Cli.dll"));
        start.ArgumentList.Add("serve");
        foreach (var a in args) start.ArgumentList.Add(a);
        // The test runner's own environment must not leak settings in.
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("RANKENGINE", StringComparison.OrdinalIgnoreCase) || k.StartsWith("Logging__") || k == "DOTNET_ENVIRONMENT").ToList())
            start.Environment.Remove(key);
        foreach (var (k, v) in env) start.Environment[k] = v;
        return start;
    }

    /// <summary>Starts serve, waits for its listening line, asks CONFIG GET maxclients, stops it; returns the value and the first log line.</summary>
    private async Task<(int MaxClients, string FirstLine)> MaxClientsAsync(Dictionary<string, string> env, params string[] args)
    {
        using var process = Process.Start(Serve(_dir.Path, env, args))!;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            string? first = null;
            while (true)
            {
                string? line = await process.StandardOutput.ReadLineAsync(timeout.Token);
                if (line is null) throw new InvalidOperationException($"serve exited: {await process.StandardError.ReadToEndAsync()}");
                first ??= line;
                var m = Regex.Match(line, @"listening on 127\.0\.0\.1:(\d+)");
                if (!m.Success) continue;
                using var raw = new RawConnectionClient(int.Parse(m.Groups[1].Value));
                string reply = await raw.RoundTripAsync("CONFIG GET maxclients\r\n", lines: 5);
                var value = Regex.Match(reply, @"maxclients\r\n\$\d+\r\n(\d+)\r\n");
                Assert.True(value.Success, reply);
                return (int.Parse(value.Groups[1].Value), first);
            }
        }
        finally
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task FilesEnvironmentAndCommandLineInOrderOfPrecedence()
    {
        Write("appsettings.json", Settings(7));
        Assert.Equal(7, (await MaxClientsAsync([])).MaxClients);

        Write("appsettings.Staging.json", Settings(8));
        var staging = new Dictionary<string, string> { ["DOTNET_ENVIRONMENT"] = "Staging" };
        Assert.Equal(8, (await MaxClientsAsync(staging)).MaxClients);

        Write("extra.json", Settings(5));
        Assert.Equal(5, (await MaxClientsAsync(staging, "--config", "extra.json")).MaxClients);

        var env = new Dictionary<string, string>(staging) { ["RANKENGINE__Server__Limits__MaxConnections"] = "9", ["Logging__Console__FormatterName"] = "json" };
        var (fromEnv, firstLine) = await MaxClientsAsync(env, "--config", "extra.json");
        Assert.Equal(9, fromEnv);
        // The standard Logging section: one JSON object per log entry.
        using (var entry = JsonDocument.Parse(firstLine))
        {
            Assert.Equal("Information", entry.RootElement.GetProperty("LogLevel").GetString());
            Assert.Contains("listening on 127.0.0.1:", entry.RootElement.GetProperty("Message").GetString());
        }

        Assert.Equal(11, (await MaxClientsAsync(env, "--config", "extra.json", "--max-connections", "11")).MaxClients);
    }

    [Theory]
    [InlineData("RANKENGINE__Server__Port", "70000", "error: invalid configuration: RankEngine:Server:Port is 70000: must be 0…65535")]
    [InlineData("RANKENGINE__Server__Port", "abc", "error: invalid configuration: Failed to convert configuration value 'abc' at 'RankEngine:Server:Port' to type 'System.Int32'")]
    [InlineData("RANKENGINE__Server__Limits__MaxInFlight", "0", "error: invalid configuration: RankEngine:Server:Limits: MaxInFlight must be positive")]
    [InlineData("RANKENGINE__Server__Bind", "localhost:1", "error: invalid configuration: RankEngine:Server:Bind 'localhost:1' is not an IP address")]
    [InlineData("RANKENGINE__Backend", "gpu", "error: invalid configuration: RankEngine:Backend 'gpu' is not one of")]
    [InlineData("RANKENGINE__Quantization", "fp8", "error: invalid configuration: RankEngine:Quantization 'fp8' is not one of None, Int8, Fp16")]
    [InlineData("RANKENGINE__Quantization", "7", "error: invalid configuration: RankEngine:Quantization is 7: must be one of None, Int8, Fp16")]
    public async Task BadSettingsStopStartUpWithOneLine(string key, string value, string expected)
    {
        Write("appsettings.json", Settings(7));
        using var process = Process.Start(Serve(_dir.Path, new() { [key] = value }))!;
        string stderr = await process.StandardError.ReadToEndAsync();
        string stdout = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.Equal(1, process.ExitCode);
        Assert.StartsWith(expected, stderr);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
        Assert.Equal("", stdout);
    }

    [Fact]
    public async Task PortInUseIsOneLineWithoutAStackTrace()
    {
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        int port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
        Write("appsettings.json", Settings(7));
        using var process = Process.Start(Serve(_dir.Path, [], "--port", port.ToString()))!;
        string stderr = await process.StandardError.ReadToEndAsync();
        string stdout = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.Equal(1, process.ExitCode);
        Assert.Equal($"error: cannot listen on 127.0.0.1:{port}: the port is in use (another rankengine serve?); pick another with --port\n", stderr);
        Assert.DoesNotContain(" at ", stdout);
    }
}

/// <summary>A tiny raw RESP round trip (send bytes, read until enough lines came back).</summary>
internal sealed class RawConnectionClient : IDisposable
{
    private readonly System.Net.Sockets.TcpClient _tcp;

    public RawConnectionClient(int port) => _tcp = new System.Net.Sockets.TcpClient("127.0.0.1", port);

    public async Task<string> RoundTripAsync(string request, int lines)
    {
        var stream = _tcp.GetStream();
        await stream.WriteAsync(System.Text.Encoding.UTF8.GetBytes(request));
        var text = new System.Text.StringBuilder();
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (Regex.Matches(text.ToString(), "\r\n").Count < lines)
        {
            int n = await stream.ReadAsync(buffer, timeout.Token);
            if (n == 0) break;
            text.Append(System.Text.Encoding.UTF8.GetString(buffer, 0, n));
        }
        return text.ToString();
    }

    public void Dispose() => _tcp.Dispose();
}
