using System.Reflection;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using System.Text;
using RankEngine.Server.Resp.Parser;

namespace RankEngine.Server.Resp;

/// <summary>Connection and server commands: PING, HELLO, AUTH, INFO, SAVE.</summary>
internal sealed partial class RespSession
{
    internal static readonly string Version =
        typeof(RespSession).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    private void NetworkPing(in ParseState args, ref RespWriter writer)
    {
        if (args.Count == 1) writer.WriteRaw(CmdStrings.Pong);
        else writer.WriteBulk(args[1]);
    }

    /// <summary>HELLO [2|3 [AUTH user token] [SETNAME name]]: switches the protocol version and reports the server.</summary>
    private void NetworkHello(in ParseState args, ref RespWriter writer)
    {
        bool resp3 = _resp3;
        if (args.Count > 1)
        {
            int version = Args.Int(args[1], "protocol version");
            if (version is not (2 or 3)) throw new RespCommandException(ErrorCode.NoProto, $"unsupported protocol version {version} (2 or 3)");
            resp3 = version == 3;
        }
        string? name = _clientName;
        for (int i = 2; i < args.Count; i++)
        {
            if (Args.Is(args[i], CmdStrings.Auth) && i + 2 < args.Count)
            {
                Authenticate(args[i + 2]);
                i += 2;
            }
            else if (Args.Is(args[i], CmdStrings.SetName) && i + 1 < args.Count)
            {
                name = Args.Text(args[i + 1], "client name", 256);
                i += 1;
            }
            else throw new RespCommandException(ErrorCode.BadArg, $"HELLO: unknown option '{Args.Preview(args[i])}'");
        }
        if (!_authenticated)
            throw new RespCommandException(ErrorCode.NoAuth, "HELLO needs an authenticated connection, or HELLO <version> AUTH <user> <token>");
        _resp3 = resp3;
        _clientName = name;
        writer.Resp3 = resp3;
        writer.WriteMapHeader(7);
        writer.WriteBulk("server"u8);
        writer.WriteBulk("rankengine"u8);
        writer.WriteBulk("version"u8);
        writer.WriteBulk(Version);
        writer.WriteBulk("proto"u8);
        writer.WriteInteger(resp3 ? 3 : 2);
        writer.WriteBulk("id"u8);
        writer.WriteInteger(Id);
        writer.WriteBulk("mode"u8);
        writer.WriteBulk("standalone"u8);
        writer.WriteBulk("role"u8);
        writer.WriteBulk("master"u8);
        writer.WriteBulk("modules"u8);
        writer.WriteArrayHeader(0);
    }

    /// <summary>AUTH token, or AUTH user token (the user name is ignored: there is one token).</summary>
    private void NetworkAuth(in ParseState args, ref RespWriter writer)
    {
        Authenticate(args[args.Count - 1]);
        writer.WriteOk();
    }

    /// <summary>
    /// The one AUTH rule, for AUTH and HELLO … AUTH alike: no token configured → ERR; wrong token → WRONGPASS, counted
    /// per connection and per address, logged, delayed (100 ms × the address's failures this minute, at most 2 s),
    /// and the connection closed after <see cref="ServerLimits.MaxAuthFailures"/>.
    /// </summary>
    private void Authenticate(ReadOnlySpan<byte> token)
    {
        if (_authToken is null)
            throw new RespCommandException(ErrorCode.Err, CmdStrings.ErrNoTokenConfigured);
        if (CheckToken(token))
        {
            _authenticated = true;
            _guard?.MarkAuthenticatedAndWake();
            return;
        }
        _authFailures++;
        _state.Metrics.AuthFailed();
        var address = _guard?.Address ?? System.Net.IPAddress.None;
        int recent = _state.Addresses.AuthFailed(address);
        _authDelayMs = Math.Min(2000, 100 * recent);
        bool closing = _authFailures >= _limits.MaxAuthFailures;
        if (closing) _closeAfterReply = true;
        // Every failure on its own would flood the log under a brute force: log the first ones and then powers of two.
        if (recent <= 3 || (recent & (recent - 1)) == 0)
            _logger.LogWarning("AUTH failed from {Address} (connection {Id}, {Failures} failures from this address in the last minute){Closing}",
                address, Id, recent, closing ? "; closing the connection" : "");
        throw new RespCommandException(ErrorCode.WrongPass, CmdStrings.ErrBadToken);
    }

    private bool CheckToken(ReadOnlySpan<byte> given) =>
        _authToken is not null && CryptographicOperations.FixedTimeEquals(given, _authToken);

    private void NetworkSave(ref RespWriter writer)
    {
        _engine.Checkpoint();
        writer.WriteOk();
    }

    /// <summary>INFO [section]: "# Section" headers and key:value lines, like Redis.</summary>
    private void NetworkInfo(in ParseState args, ref RespWriter writer)
    {
        string section = args.Count > 1 ? Encoding.ASCII.GetString(args[1]).ToLowerInvariant() : "all";
        bool all = section is "all" or "default" or "everything";
        if (!all && section is not ("server" or "engine" or "clients" or "stats" or "experiment" or "persistence" or "cluster"))
            throw new RespCommandException(ErrorCode.BadArg, $"unknown INFO section '{Args.Preview(args[1])}' (server, engine, clients, stats, persistence, experiment, cluster, all)");
        var sb = new StringBuilder(1024);
        var metrics = _state.Metrics;
        var options = _state.Options;
        if (all || section == "server")
        {
            sb.Append("# Server\r\n");
            sb.Append("rankengine_version:").Append(Version).Append("\r\n");
            sb.Append("process_id:").Append(Environment.ProcessId).Append("\r\n");
            sb.Append("tcp_port:").Append(_state.RespEndPoint?.Port ?? options.Port).Append("\r\n");
            sb.Append("http_port:").Append(_state.HttpEndPoint?.Port.ToString() ?? "disabled").Append("\r\n");
            sb.Append("uptime_in_seconds:").Append((long)(DateTimeOffset.UtcNow - metrics.StartedAt).TotalSeconds).Append("\r\n");
            sb.Append("auth_required:").Append(_authToken is null ? "no" : "yes").Append("\r\n");
        }
        if (all || section == "engine")
        {
            sb.Append("# Engine\r\n");
            sb.Append("model:").Append(options.ModelName ?? "none").Append("\r\n");
            sb.Append("backend:").Append(_engine.Backend?.Name ?? "none (vectors only)").Append("\r\n");
            sb.Append("device:").Append(_engine.Backend?.DeviceDescription ?? "none").Append("\r\n");
            sb.Append("content_dimension:").Append(_engine.ContentDimension).Append("\r\n");
            sb.Append("collab_dimension:").Append(_engine.CollabDimension).Append("\r\n");
            sb.Append("items:").Append(_engine.ItemCount).Append("\r\n");
            if (_engine.LocalStore is { } local)
            {
                var catalog = local.Catalog;
                sb.Append("catalog_shards:").Append(catalog.ShardCount).Append("\r\n");
                sb.Append("catalog_rows:").Append(catalog.RowCount).Append("\r\n");
                sb.Append("catalog_dead_rows:").Append(catalog.DeadRowCount).Append("\r\n");
                sb.Append("catalog_quantization:").Append(catalog.Shards[0].Current.QuantizedFormat switch
                {
                    CatalogQuantization.Int8 => "int8 (kernel " + RankEngine.Compute.Simd.Int8Dots.Default + ")",
                    CatalogQuantization.Fp16 => "fp16",
                    _ => "none",
                }).Append("\r\n");
            }
            if (_engine.Model is { } m)
            {
                sb.Append("ranking_model:").Append(m.Kind).Append(" v").Append(m.Version).Append("\r\n");
                sb.Append(System.FormattableString.Invariant($"ranking_model_rank:{m.Rank}\r\nranking_model_lambda:{m.Lambda}\r\nranking_model_trained_at:{m.TrainedAt:O}\r\n"));
                sb.Append(System.FormattableString.Invariant($"ranking_model_validation_ndcg10:{m.ValidationNdcg:F4}\r\nranking_model_recommended_diversity:{m.Defaults.RecommendedDiversity}\r\n"));
            }
            else sb.Append("ranking_model:none (run 'rankengine train')\r\n");
            sb.Append("events_since_training:").Append(_engine.EventsSinceTraining).Append("\r\n");
            if (_state.LastRefitError is { } refitError) sb.Append("last_refit_error:").Append(refitError.Replace('\r', ' ').Replace('\n', ' ')).Append("\r\n");
        }
        if (all || section == "clients")
        {
            sb.Append("# Clients\r\n");
            sb.Append("connected_clients:").Append(metrics.Connections).Append("\r\n");
            sb.Append("total_connections_received:").Append(metrics.ConnectionsTotal).Append("\r\n");
            sb.Append("rejected_connections:").Append(metrics.ConnectionsRejected).Append("\r\n");
            sb.Append("maxclients:").Append(options.Limits.MaxConnections).Append("\r\n");
            sb.Append("maxclients_per_address:").Append(options.Limits.MaxConnectionsPerAddress).Append("\r\n");
            sb.Append("timedout_connections:").Append(metrics.ConnectionsTimedOut).Append("\r\n");
            sb.Append("auth_failures:").Append(metrics.AuthFailures).Append("\r\n");
            sb.Append("buffered_request_bytes:").Append(_state.Buffers.Held).Append("\r\n");
            sb.Append("inflight_requests:").Append(_state.Gate.InFlight).Append("\r\n");
            sb.Append("max_inflight:").Append(_state.Gate.Capacity).Append("\r\n");
        }
        if (all || section == "stats")
        {
            sb.Append("# Stats\r\n");
            sb.Append("total_commands_processed:").Append(metrics.CommandsProcessed).Append("\r\n");
            for (int c = 0; c < ErrorCodes.Count; c++)
                sb.Append("errorstat_").Append(ErrorCodes.Word((ErrorCode)c)).Append(":count=").Append(metrics.Errors((ErrorCode)c)).Append("\r\n");
            for (int c = 1; c < CommandTable.Count; c++)
            {
                var command = (RespCommand)c;
                long calls = metrics.Requests(command);
                if (calls == 0) continue;
                double usec = metrics.LatencySeconds(command) * 1e6;
                sb.Append("cmdstat_").Append(CommandTable.Name(command)).Append(":calls=").Append(calls)
                  .Append(",usec=").Append((long)usec).Append(",usec_per_call=").Append((usec / calls).ToString("F2", System.Globalization.CultureInfo.InvariantCulture)).Append("\r\n");
            }
        }
        if ((all || section == "persistence") && _engine.LocalStore is { } store)
        {
            sb.Append("# Persistence\r\n");
            sb.Append("checkpoints:").Append(store.CheckpointCount).Append("\r\n");
            sb.Append("compactions:").Append(store.CompactionCount).Append("\r\n");
            sb.Append("log_bytes:").Append(store.LogBytes).Append("\r\n");
            sb.Append("live_bytes_after_compaction:").Append(store.LiveBytesAfterCompaction).Append("\r\n");
            sb.Append("last_compaction_pause_ms:").Append((long)store.LastCompactionPause.TotalMilliseconds).Append("\r\n");
            sb.Append("background_failing:").Append(store.BackgroundFailing ? 1 : 0).Append("\r\n");
            sb.Append("background_errors:").Append(store.BackgroundErrorCount).Append("\r\n");
            // One line, no newlines: the exception's type and message, never a stack.
            string last = store.LastBackgroundError is { } e ? $"{e.GetType().Name}: {e.Message}".ReplaceLineEndings(" ") : "none";
            sb.Append("last_background_error:").Append(last).Append("\r\n");
        }
        if (all || section == "experiment")
        {
            sb.Append("# Experiment\r\n");
            sb.Append("experiment:").Append(_engine.Experiment.Name).Append("\r\n");
            foreach (var b in _engine.Experiment.Stats())
                sb.Append("bucket_").Append(b.Bucket).Append(":impressions=").Append(b.Impressions).Append(",clicks=").Append(b.Clicks)
                  .Append(",ctr=").Append(b.Ctr.ToString("0.######", System.Globalization.CultureInfo.InvariantCulture)).Append("\r\n");
        }
        // A single node has no cluster section: it is what tells a cluster front end apart (INFO cluster is empty there).
        if ((all || section == "cluster") && _engine.ClusterInfo() is { } cluster)
        {
            sb.Append("# Cluster\r\n");
            foreach (var (name, value) in cluster) sb.Append(name).Append(':').Append(value.ReplaceLineEndings(" ")).Append("\r\n");
        }
        writer.WriteBulk(sb.ToString());
    }
}
