using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using RankEngine.Tests.Support;
using Xunit;

namespace RankEngine.Tests.Compat;

/// <summary>
/// A real <c>rankengine serve</c> child process with the tiny BERT model (so every verb works, ENCODE and ITEM.ADD
/// included) and an auth token, on ephemeral ports read back from its log. Shared by the stock-client tests.
/// </summary>
public sealed class ServeProcess : IAsyncLifetime
{
    public const string Token = "compat-token";
    private readonly TinyBertFixture _model = new();
    private readonly TempDir _dir = new();
    private readonly StringBuilder _log = new();
    private Process? _process;

    public int Port { get; private set; }
    public int HttpPort { get; private set; }

    /// <summary>Everything the server printed so far (for failure messages).</summary>
    public string Log
    {
        get { lock (_log) return _log.ToString(); }
    }

    public async Task InitializeAsync()
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "RankEngine.Cli.dll"));
        // --http-port 0 turns HTTP off, so take a free port for it (the protocol port is ephemeral and read from the log).
        var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        int freePort = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        foreach (var a in new[] { "serve", "--data-dir", _dir.File("store"), "--model", _model.ModelPath, "--backend", "simd", "--port", "0", "--http-port", freePort.ToString(),
                     // A generous deadline: these tests check what clients see, not overload (a loaded CI machine is slow).
                     "--timeout-ms", "30000" })
            start.ArgumentList.Add(a);
        start.Environment["RANKENGINE_AUTH_TOKEN"] = Token;
        _process = Process.Start(start) ?? throw new InvalidOperationException("could not start rankengine serve");
        var ports = new TaskCompletionSource<(int, int)>(TaskCreationOptions.RunContinuationsAsynchronously);
        int resp = 0, http = 0;
        void OnLine(string? line)
        {
            if (line is null) return;
            lock (_log) _log.AppendLine(line);
            var m = Regex.Match(line, @"listening on 127\.0\.0\.1:(\d+)");
            if (m.Success) resp = int.Parse(m.Groups[1].Value);
            m = Regex.Match(line, @"http://127\.0\.0\.1:(\d+)/");
            if (m.Success) http = int.Parse(m.Groups[1].Value);
            if (resp != 0 && http != 0) ports.TrySetResult((resp, http));
        }
        _process.OutputDataReceived += (_, e) => OnLine(e.Data);
        _process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        _ = _process.WaitForExitAsync().ContinueWith(_ => ports.TrySetException(new InvalidOperationException($"serve exited:\n{Log}")));
        try
        {
            (Port, HttpPort) = await ports.Task.WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"serve did not report its ports within 60 s:\n{Log}");
        }
    }

    public async Task DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        _process?.Dispose();
        _dir.Dispose();
        _model.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class ServeProcessCollection : ICollectionFixture<ServeProcess>
{
    public const string Name = "rankengine serve child process";
}

/// <summary>Runs an external program (a stock client) with a timeout; a missing program fails the test with how to install it.</summary>
public static class ExternalTool
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public string Both => $"exit {ExitCode}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
    }

    /// <summary>The absolute path of <paramref name="program"/> on PATH (or as given when absolute); fails when absent.</summary>
    public static string Require(string program)
    {
        if (Path.IsPathRooted(program))
        {
            if (File.Exists(program)) return program;
        }
        else
        {
            foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
            {
                string path = Path.Combine(dir, program);
                if (File.Exists(path)) return path;
            }
        }
        Assert.Fail($"'{program}' is not installed: tools/setup-deps.sh installs it (CI runs it first)");
        return program;
    }

    public static async Task<Result> RunAsync(string program, IEnumerable<string> args, string? stdin = null, int timeoutSeconds = 120,
        string? workingDirectory = null, Dictionary<string, string>? env = null)
    {
        var start = new ProcessStartInfo(Require(program))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Fixtures.RepoRoot,
        };
        foreach (var a in args) start.ArgumentList.Add(a);
        foreach (var (k, v) in env ?? []) start.Environment[k] = v;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
            process.StandardInput.Close();
        }
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{program} {string.Join(' ', args)} did not finish in {timeoutSeconds} s\nstdout:\n{await stdout}\nstderr:\n{await stderr}");
        }
        return new Result(process.ExitCode, await stdout, await stderr);
    }
}
