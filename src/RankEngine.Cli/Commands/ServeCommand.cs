using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Hosting;
using RankEngine.Server;
using RankEngine.Server.Hosting;

namespace RankEngine.Cli.Commands;

/// <summary>
/// <c>rankengine serve</c>: the TCP ranking protocol (RESP, redis-cli compatible) plus HTTP health and metrics, on a
/// generic host with the standard .NET configuration and logging (<see cref="ServeConfiguration"/>).
/// </summary>
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
        var config = new Option<string?>("--config", "-c") { Description = "A JSON settings file (like appsettings.json), read after appsettings.json and before environment variables." };
        var contentDim = new Option<int?>("--content-dim") { Description = "Serve without a model: items bring their own vectors of this width (ITEM.ADDVEC)." };
        var bind = new Option<string?>("--bind") { Description = "Address to listen on (default 127.0.0.1: loopback unless told otherwise)." };
        var port = new Option<int?>("--port", "-p") { Description = $"Protocol port (default {RankServerOptions.DefaultPort}; 0: a free port)." };
        var httpPort = new Option<int?>("--http-port") { Description = $"HTTP port for /healthz, /readyz, /metrics (default {RankServerOptions.DefaultHttpPort}; 0: off)." };
        var authToken = new Option<string?>("--auth-token") { Description = $"Require AUTH with this token. Visible in ps: prefer --auth-token-file or ${AuthTokenVariable}." };
        var authTokenFile = new Option<string?>("--auth-token-file") { Description = "Require AUTH with the token in this file (first line; preferred: not visible in ps)." };
        var maxConnections = new Option<int?>("--max-connections") { Description = $"Most open connections (default {new ServerLimits().MaxConnections})." };
        var maxInFlight = new Option<int?>("--max-inflight") { Description = "Most engine calls at once (default: CPU count)." };
        var timeout = new Option<int?>("--timeout-ms") { Description = $"Per-request deadline: requests that cannot start within it get -BUSY (default {new ServerLimits().RequestTimeout.TotalMilliseconds:0})." };
        var perAddress = new Option<int?>("--max-connections-per-address") { Description = $"Most open connections from one client address (default {new ServerLimits().MaxConnectionsPerAddress})." };
        var idle = new Option<int?>("--idle-timeout-s") { Description = $"Close connections idle this long (default {new ServerLimits().IdleTimeout.TotalSeconds:0}; 0: never)." };
        var authDeadline = new Option<int?>("--auth-timeout-s") { Description = $"With a token: close connections that have not authenticated this long after connecting (default {new ServerLimits().AuthTimeout.TotalSeconds:0})." };
        var buffered = new Option<int?>("--max-buffered-mb") { Description = $"Unread request bytes over all connections before large stalled requests are refused (default {new ServerLimits().MaxBufferedBytes >> 20})." };
        var metricsAuth = new Option<bool>("--metrics-require-auth") { Description = "With a token: /metrics needs Authorization: Bearer <token>." };
        var cluster = new Option<bool>("--cluster") { Description = "Run as one silo of an Orleans cluster: catalog shards and users live in grains, --data-dir is the shard directory every silo shares, RANK fans out to every shard (docs/cluster.md)." };
        var redis = new Option<string?>("--redis") { Description = "With --cluster: Redis membership and user storage at this StackExchange.Redis address (e.g. 127.0.0.1:6379). Without it: localhost development clustering." };
        var clusterId = new Option<string?>("--cluster-id") { Description = "With --cluster: the cluster to join (default rankengine)." };
        var shards = new Option<int?>("--shards") { Description = "With --cluster: catalog shards of the whole cluster; every silo must give the same (default 12)." };
        var siloPort = new Option<int?>("--silo-port") { Description = "With --cluster: silo-to-silo port (default 11111)." };
        var gatewayPort = new Option<int?>("--gateway-port") { Description = "With --cluster: Orleans client gateway port (default 30000)." };
        var primarySiloPort = new Option<int?>("--primary-silo-port") { Description = "With --cluster and no --redis: the primary silo's port (default: this silo is the primary)." };
        var advertise = new Option<string?>("--advertise") { Description = "With --cluster: the address other silos reach this one at (default 127.0.0.1)." };

        var command = new Command("serve",
            "Serve the engine over TCP (RESP protocol: redis-cli and Redis client libraries work) with HTTP health and metrics endpoints.\n" +
            "Settings also come from appsettings.json, appsettings.$DOTNET_ENVIRONMENT.json, --config FILE and RANKENGINE__… environment " +
            "variables (section RankEngine; options given here win); logging from the standard Logging section (docs/configuration.md).")
        {
            dataDir, model, backend, config, contentDim, bind, port, httpPort, authToken, authTokenFile, maxConnections, maxInFlight, timeout,
            perAddress, idle, authDeadline, buffered, metricsAuth, cluster, redis, clusterId, shards, siloPort, gatewayPort, primarySiloPort, advertise,
        };
        command.SetAction((parse, cancellation) => CliErrors.RunAsync(async () =>
        {
            // Only what was typed overrides configuration: an option's default must not hide appsettings.json.
            var overrides = new Dictionary<string, string?>();
            void Given<T>(Option<T> option, string key, Func<T, string?> text)
            {
                if (parse.GetResult(option) is { Implicit: false }) overrides[key] = text(parse.GetValue(option)!);
            }
            var inv = CultureInfo.InvariantCulture;
            const string s = RankServerSettings.SectionName, e = ServeEngineSettings.SectionName;
            if (Environment.GetEnvironmentVariable(AuthTokenVariable) is { } envToken) overrides[$"{s}:AuthToken"] = envToken;
            Given(dataDir, $"{e}:DataDirectory", v => v);
            Given(model, $"{e}:Model", v => v);
            Given(backend, $"{e}:Backend", v => v);
            Given(contentDim, $"{e}:ContentDimension", v => v?.ToString(inv));
            Given(bind, $"{s}:Bind", v => v);
            Given(port, $"{s}:Port", v => v?.ToString(inv));
            Given(httpPort, $"{s}:HttpPort", v => v?.ToString(inv));
            // A token typed here (--auth-token, or --auth-token-file read now) wins over configuration's AuthToken and AuthTokenFile.
            if (parse.GetResult(authToken) is { Implicit: false } || parse.GetResult(authTokenFile) is { Implicit: false })
            {
                overrides[$"{s}:AuthToken"] = ResolveToken(parse.GetValue(authToken), parse.GetValue(authTokenFile));
                overrides[$"{s}:AuthTokenFile"] = "";
            }
            Given(maxConnections, $"{s}:Limits:MaxConnections", v => v?.ToString(inv));
            Given(maxInFlight, $"{s}:Limits:MaxInFlight", v => v?.ToString(inv));
            Given(timeout, $"{s}:Limits:RequestTimeout", v => v is null ? null : TimeSpan.FromMilliseconds(v.Value).ToString("c", inv));
            Given(perAddress, $"{s}:Limits:MaxConnectionsPerAddress", v => v?.ToString(inv));
            Given(idle, $"{s}:Limits:IdleTimeout", v => v is null ? null : TimeSpan.FromSeconds(v.Value).ToString("c", inv));
            Given(authDeadline, $"{s}:Limits:AuthTimeout", v => v is null ? null : TimeSpan.FromSeconds(v.Value).ToString("c", inv));
            Given(buffered, $"{s}:Limits:MaxBufferedBytes", v => v is null ? null : ((long)v.Value << 20).ToString(inv));
            Given(metricsAuth, $"{s}:MetricsRequireAuth", v => v ? "true" : "false");
            const string k = ClusterServeSettings.SectionName;
            Given(cluster, $"{k}:Enabled", v => v ? "true" : "false");
            Given(redis, $"{k}:Redis", v => v);
            Given(clusterId, $"{k}:ClusterId", v => v);
            Given(shards, $"{k}:Shards", v => v?.ToString(inv));
            Given(siloPort, $"{k}:SiloPort", v => v?.ToString(inv));
            Given(gatewayPort, $"{k}:GatewayPort", v => v?.ToString(inv));
            Given(primarySiloPort, $"{k}:PrimarySiloPort", v => v?.ToString(inv));
            Given(advertise, $"{k}:AdvertisedAddress", v => v);

            // Defaults (appsettings.json, environment variables, Logging section) come with the default host builder.
            var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Configuration = ServeConfiguration.Initial() });
            ServeConfiguration.AddOverrides(builder.Configuration, parse.GetValue(config), overrides);
            ServeConfiguration.DefaultConsoleFormat(builder.Services, builder.Configuration);
            var (engineSettings, serverSettings) = ServeConfiguration.Bind(builder.Configuration);

            string? modelPath = engineSettings.ContentDimension is null ? CommonOptions.ResolveModel(engineSettings.Model) : null;
            var options = serverSettings.ToOptions(modelPath is null ? null : Path.GetFileName(modelPath));
            if (!System.Net.IPAddress.IsLoopback(options.BindAddress) && options.AuthToken is null)
                Console.Error.WriteLine($"warning: listening on {options.BindAddress} without an auth token: anyone who can reach it can read and write");

            // A port in use is the common start-up failure: say so in one line before the host would log a stack trace.
            PortCheck.ThrowIfInUse(options.BindAddress, options.Port, "--port");
            if (options.HttpPort is { } http) PortCheck.ThrowIfInUse(options.BindAddress, http, "--http-port");

            var clusterSettings = ServeConfiguration.BindCluster(builder.Configuration);
            if (clusterSettings.Enabled)
            {
                await ClusterServe.RunAsync(builder, engineSettings, clusterSettings, options, modelPath, cancellation);
                return 0;
            }
            using var engine = RankingEngine.Open(new RankingEngineOptions
            {
                DataDirectory = engineSettings.DataDirectory,
                ModelPath = modelPath,
                Backend = engineSettings.Backend,
                ContentDimension = engineSettings.ContentDimension ?? 0,
                CatalogShards = engineSettings.CatalogShards,
                Quantization = engineSettings.Quantization,
            });
            builder.Services.AddRankEngineServer(engine, options);
            using var host = builder.Build();
            await host.RunAsync(cancellation);
            return 0;
        }));
        return command;
    }
}

/// <summary>Tells whether a TCP port can be listened on, by listening on it for an instant.</summary>
internal static class PortCheck
{
    public static void ThrowIfInUse(System.Net.IPAddress address, int port, string option)
    {
        if (port == 0) return;
        using var probe = new System.Net.Sockets.Socket(address.AddressFamily, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        try
        {
            probe.Bind(new System.Net.IPEndPoint(address, port));
            probe.Listen(1);
        }
        catch (System.Net.Sockets.SocketException e)
        {
            throw new IOException(e.SocketErrorCode == System.Net.Sockets.SocketError.AddressAlreadyInUse
                ? $"cannot listen on {address}:{port}: the port is in use (another rankengine serve?); pick another with {option}"
                : $"cannot listen on {address}:{port}: {e.Message}");
        }
    }
}
