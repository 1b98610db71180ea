using System.Diagnostics;
using System.Net;
using System.Text;
using StackExchange.Redis;

namespace RankEngine.Tests.Support;

/// <summary>
/// A real <c>redis-server</c> for one test: its own loopback port and temp directory, append-only file fsynced on
/// every write (so what it acknowledged is on disk), no RDB snapshots. Started by <see cref="StartAsync"/>, which
/// returns once it answers PING; killed and its directory removed on dispose. A missing redis-server is a test
/// failure, not a skip: tools/setup-deps.sh installs it.
/// </summary>
public sealed class RedisServerProcess : IAsyncDisposable
{
    public const string DefaultExecutable = "/usr/bin/redis-server";

    private readonly Process _process;
    private readonly StringBuilder _log;

    private RedisServerProcess(Process process, StringBuilder log, int port, string directory, ConnectionMultiplexer connection)
    {
        _process = process;
        _log = log;
        Port = port;
        Directory = directory;
        Connection = connection;
    }

    public int Port { get; }

    /// <summary>The server's working directory (its append-only files).</summary>
    public string Directory { get; }

    /// <summary>A StackExchange.Redis configuration string for this server.</summary>
    public string Configuration => $"127.0.0.1:{Port}";

    /// <summary>A connection of the test's own, for looking at the server's keys.</summary>
    public ConnectionMultiplexer Connection { get; }

    public IDatabase Database => Connection.GetDatabase();

    /// <summary>What the server wrote to stdout and stderr so far (for failure messages).</summary>
    public string Log
    {
        get { lock (_log) return _log.ToString(); }
    }

    /// <summary>Starts a server on a free loopback port and waits (up to <paramref name="timeout"/>, default 15 s) until it answers PING.</summary>
    public static async Task<RedisServerProcess> StartAsync(string executable = DefaultExecutable, TimeSpan? timeout = null)
    {
        if (!File.Exists(executable))
            throw new InvalidOperationException($"{executable} is missing; install the Debian package redis-server (tools/setup-deps.sh does).");
        var deadline = Stopwatch.StartNew();
        var limit = timeout ?? TimeSpan.FromSeconds(15);
        string failures = "";
        // A free port found by binding port 0 can be taken before the server binds it; then try another.
        for (int attempt = 0; attempt < 3; attempt++)
        {
            string directory = Path.Combine(Path.GetTempPath(), $"rankengine-redis-{Environment.ProcessId}-{Guid.NewGuid():N}");
            System.IO.Directory.CreateDirectory(directory);
            int port = LoopbackPorts.Free(1)[0];
            var log = new StringBuilder();
            var process = Launch(executable, port, directory, log);
            var connection = await WaitForPing(process, port, deadline, limit);
            if (connection is not null) return new RedisServerProcess(process, log, port, directory, connection);
            Stop(process);
            failures += $"\nattempt {attempt + 1} (port {port}): {(process.HasExited ? $"exited with {process.ExitCode}" : "no PONG")}; log:\n{Text(log)}";
            DeleteDirectory(directory);
            if (deadline.Elapsed >= limit) break;
        }
        throw new InvalidOperationException($"redis-server did not start within {limit.TotalSeconds:F0} s:{failures}");
    }

    private static Process Launch(string executable, int port, string directory, StringBuilder log)
    {
        var start = new ProcessStartInfo(executable)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = directory,
        };
        foreach (var arg in new[]
                 {
                     "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "",
                     "--appendonly", "yes", "--appendfsync", "always", "--dir", directory, "--daemonize", "no",
                 })
            start.ArgumentList.Add(arg);
        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Append(log, e.Data);
        process.ErrorDataReceived += (_, e) => Append(log, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task<ConnectionMultiplexer?> WaitForPing(Process process, int port, Stopwatch deadline, TimeSpan limit)
    {
        // Generous command timeouts: the test process may be busy (its socket reads run on the shared thread pool).
        var options = new ConfigurationOptions
        {
            EndPoints = { { IPAddress.Loopback, port } }, AbortOnConnectFail = false, ConnectTimeout = 1000, AsyncTimeout = 30_000, SyncTimeout = 30_000,
        };
        ConnectionMultiplexer? connection = null;
        try
        {
            while (!process.HasExited && deadline.Elapsed < limit)
            {
                connection ??= await ConnectionMultiplexer.ConnectAsync(options);
                try
                {
                    await connection.GetDatabase().PingAsync();
                    var result = connection;
                    connection = null;
                    return result;
                }
                catch (Exception e) when (e is RedisException or TimeoutException)
                {
                    await Task.Delay(50);
                }
            }
            return null;
        }
        finally
        {
            connection?.Dispose();
        }
    }

    private static void Append(StringBuilder log, string? line)
    {
        if (line is null) return;
        lock (log) log.AppendLine(line);
    }

    private static string Text(StringBuilder log)
    {
        lock (log) return log.ToString();
    }

    private static void Stop(Process process)
    {
        try
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            process.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        process.Dispose();
    }

    private static void DeleteDirectory(string directory)
    {
        try { System.IO.Directory.Delete(directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    public async ValueTask DisposeAsync()
    {
        await Connection.DisposeAsync();
        Stop(_process);
        DeleteDirectory(Directory);
    }
}
