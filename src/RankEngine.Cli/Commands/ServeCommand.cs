using System.CommandLine;
using System.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RankEngine.Server;
using RankEngine.Server.Hosting;

namespace RankEngine.Cli.Commands;

/// <summary><c>rankengine serve</c>: the TCP ranking protocol (RESP, redis-cli compatible) plus HTTP health and metrics.</summary>
internal static class ServeCommand
{
    public const string AuthTokenVariable = "RANKENGINE_AUTH_TOKEN";

    /// <summary>The token from --auth-token-file, else $RANKENGINE_AUTH_TOKEN, else --auth-token (with a warning: argv is visible in ps).</summary>
    internal static string? ResolveToken(string? fromArgv, string? file)
    {
        if (file is not null)
        {
            if (fromArgv is not null) throw new ArgumentException("give --auth-token or --auth-token-file, not both");
            if (!File.Exists(file)) throw new ArgumentException($"--auth-token-file '{file}' does not exist");
            string line = File.ReadLines(file).FirstOrDefault()?.Trim() ?? "";
            if (line.Length == 0) throw new ArgumentException($"--auth-token-file '{file}' is empty");
            return line;
        }
        if (fromArgv is not null)
        {
            Console.Error.WriteLine($"warning: --auth-token is visible to other users in ps; prefer --auth-token-file or ${AuthTokenVariable}");
            return fromArgv;
        }
        return Environment.GetEnvironmentVariable(AuthTokenVariable);
    }

    public static Command Create()
    {
        var dataDir = EngineOptions.DataDir();
        var model = CommonOptions.Model();
        var backend = CommonOptions.Backend();
        var contentDim = new Option<int?>("--content-dim") { Description = "Serve without a model: items bring their own vectors of this width (ITEM.ADDVEC)." };
        var bind = new Option<string>("--bind") { Description = "Address to listen on (loopback unless told otherwise).", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port", "-p") { Description = "Protocol port.", DefaultValueFactory = _ => RankServerOptions.DefaultPort };
        var httpPort = new Option<int>("--http-port") { Description = "HTTP port for /healthz, /readyz, /metrics (0: off).", DefaultValueFactory = _ => RankServerOptions.DefaultHttpPort };
        var authToken = new Option<string?>("--auth-token") { Description = $"Require AUTH with this token. Visible in ps: prefer --auth-token-file or ${AuthTokenVariable}." };
        var authTokenFile = new Option<string?>("--auth-token-file") { Description = "Require AUTH with the token in this file (first line; preferred: not visible in ps)." };
        var maxConnections = new Option<int>("--max-connections") { Description = "Most open connections.", DefaultValueFactory = _ => new ServerLimits().MaxConnections };
        var maxInFlight = new Option<int>("--max-inflight") { Description = "Most engine calls at once (default: CPU count).", DefaultValueFactory = _ => new ServerLimits().MaxInFlight };
        var timeout = new Option<int>("--timeout-ms") { Description = "Per-request deadline: requests that cannot start within it get -BUSY.", DefaultValueFactory = _ => (int)new ServerLimits().RequestTimeout.TotalMilliseconds };
        var perAddress = new Option<int>("--max-connections-per-address") { Description = "Most open connections from one client address.", DefaultValueFactory = _ => new ServerLimits().MaxConnectionsPerAddress };
        var idle = new Option<int>("--idle-timeout-s") { Description = "Close connections idle this long (0: never).", DefaultValueFactory = _ => (int)new ServerLimits().IdleTimeout.TotalSeconds };
        var authDeadline = new Option<int>("--auth-timeout-s") { Description = "With a token: close connections that have not authenticated this long after connecting.", DefaultValueFactory = _ => (int)new ServerLimits().AuthTimeout.TotalSeconds };
        var buffered = new Option<int>("--max-buffered-mb") { Description = "Unread request bytes over all connections before large stalled requests are refused.", DefaultValueFactory = _ => (int)(new ServerLimits().MaxBufferedBytes >> 20) };
        var metricsAuth = new Option<bool>("--metrics-require-auth") { Description = "With a token: /metrics needs Authorization: Bearer <token>." };

        var command = new Command("serve", "Serve the engine over TCP (RESP protocol: redis-cli works) with HTTP health and metrics endpoints.")
        {
            dataDir, model, backend, contentDim, bind, port, httpPort, authToken, authTokenFile, maxConnections, maxInFlight, timeout,
            perAddress, idle, authDeadline, buffered, metricsAuth,
        };
        command.SetAction((parse, cancellation) => CliErrors.RunAsync(async () =>
        {
            if (!IPAddress.TryParse(parse.GetValue(bind), out var address))
                throw new ArgumentException($"--bind '{parse.GetValue(bind)}' is not an IP address");
            int? dim = parse.GetValue(contentDim);
            string? modelPath = dim is null ? CommonOptions.ResolveModel(parse.GetValue(model)) : null;
            var options = new RankServerOptions
            {
                BindAddress = address,
                Port = parse.GetValue(port),
                HttpPort = parse.GetValue(httpPort) == 0 ? null : parse.GetValue(httpPort),
                AuthToken = ResolveToken(parse.GetValue(authToken), parse.GetValue(authTokenFile)),
                ModelName = modelPath is null ? null : Path.GetFileName(modelPath),
                Limits = new ServerLimits
                {
                    MaxConnections = parse.GetValue(maxConnections),
                    MaxInFlight = parse.GetValue(maxInFlight),
                    RequestTimeout = TimeSpan.FromMilliseconds(parse.GetValue(timeout)),
                    MaxConnectionsPerAddress = parse.GetValue(perAddress),
                    IdleTimeout = TimeSpan.FromSeconds(parse.GetValue(idle)),
                    AuthTimeout = TimeSpan.FromSeconds(parse.GetValue(authDeadline)),
                    MaxBufferedBytes = (long)parse.GetValue(buffered) << 20,
                },
                MetricsRequireAuth = parse.GetValue(metricsAuth),
            };
            if (options.AuthToken is { Length: 0 }) throw new ArgumentException("the auth token is empty");
            if (!IPAddress.IsLoopback(address) && options.AuthToken is null)
                Console.Error.WriteLine($"warning: listening on {address} without --auth-token: anyone who can reach it can read and write");

            using var engine = RankingEngine.Open(new RankingEngineOptions
            {
                DataDirectory = parse.GetValue(dataDir)!,
                ModelPath = modelPath,
                Backend = parse.GetValue(backend)!,
                ContentDimension = dim ?? 0,
            });
            var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
            builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
            builder.Logging.SetMinimumLevel(LogLevel.Information);
            builder.Services.AddRankEngineServer(engine, options);
            using var host = builder.Build();
            await host.RunAsync(cancellation);
            return 0;
        }));
        return command;
    }
}
