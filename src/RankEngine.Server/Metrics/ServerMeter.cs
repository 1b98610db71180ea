using System.Diagnostics.Metrics;
using RankEngine.Diagnostics;
using RankEngine.Server.Resp;

namespace RankEngine.Server.Metrics;

/// <summary>
/// Publishes the server's metrics as System.Diagnostics.Metrics instruments on the meter <see cref="Name"/>, so
/// dotnet-counters, OpenTelemetry's exporters or any <see cref="MeterListener"/> see what /metrics renders: observable
/// instruments over the same counters, and histograms recorded as requests are answered (free while nobody listens).
/// </summary>
internal sealed class ServerMeter : IDisposable
{
    /// <summary>The meter's name (e.g. <c>dotnet-counters monitor --counters RankEngine.Server</c>).</summary>
    public const string Name = "RankEngine.Server";

    private readonly Meter _meter;
    private readonly RankServerState _state;

    public ServerMeter(RankServerState state)
    {
        _state = state;
        _meter = new Meter(Name, RespSession.Version);
        var m = state.Metrics;
        RequestDuration = _meter.CreateHistogram<double>("rankengine.request.duration", "s",
            "Time from a request's arrival to its reply, by command (slot wait included).");
        SlotWait = _meter.CreateHistogram<double>("rankengine.slot.wait", "s", "Time engine commands waited for an engine slot.");
        _meter.CreateObservableCounter("rankengine.requests", () => PerCommand(m.Requests), "{request}", "Requests answered, by command.");
        _meter.CreateObservableCounter("rankengine.busy", () => PerCommand(m.BusyReplies), "{request}", "Requests answered BUSY, by command.");
        _meter.CreateObservableCounter("rankengine.errors", Errors, "{reply}", "Error replies, by code word.");
        _meter.CreateObservableUpDownCounter("rankengine.connections", () => m.Connections, "{connection}", "Open protocol connections.");
        _meter.CreateObservableUpDownCounter("rankengine.queue.depth", () => (long)state.Gate.Waiting, "{request}", "Requests waiting for an engine slot.");
        _meter.CreateObservableUpDownCounter("rankengine.inflight", () => (long)state.Gate.InFlight, "{request}", "Engine calls running.");
        _meter.CreateObservableCounter("rankengine.connections.timed_out", () => m.ConnectionsTimedOut, "{connection}", "Connections closed for the idle timeout or the authentication deadline.");
        _meter.CreateObservableCounter("rankengine.auth.failures", () => m.AuthFailures, "{attempt}", "Failed AUTH attempts.");
        _meter.CreateObservableUpDownCounter("rankengine.buffered", () => state.Buffers.Held, "By", "Unread request bytes buffered over all connections.");
        _meter.CreateObservableCounter("rankengine.store.compactions", () => state.Service.LocalStore?.CompactionCount ?? 0, "{compaction}", "Hybrid-log compactions since the store was opened.");
        _meter.CreateObservableCounter("rankengine.store.background_errors", () => state.Service.LocalStore?.BackgroundErrorCount ?? 0, "{error}", "Failed background checkpoints or compactions.");
        _meter.CreateObservableCounter("rankengine.received", () => m.BytesReceived, "By", "Protocol bytes read from clients.");
        _meter.CreateObservableCounter("rankengine.sent", () => m.BytesSent, "By", "Protocol bytes written to clients.");
        _meter.CreateObservableUpDownCounter("rankengine.items", () => (long)state.Service.ItemCount, "{item}", "Items in the catalog.");
        _meter.CreateObservableUpDownCounter("rankengine.users", () => state.Service.LocalStore?.UserCount ?? 0, "{user}", "Users in the store.");
        _meter.CreateObservableCounter("rankengine.encoder.tokens", () => EncoderMetrics.Tokens, "{token}", "Tokens encoded in this process.");
        _meter.CreateObservableCounter("rankengine.encoder.time", () => EncoderMetrics.Seconds, "s", "Time spent encoding in this process.");
        _meter.CreateObservableCounter("rankengine.encoder.texts", () => EncoderMetrics.Texts, "{text}", "Texts encoded in this process.");
        m.AttachInstruments(RequestDuration, SlotWait);
    }

    /// <summary>The meter (one per server; listeners tell servers apart by it).</summary>
    public Meter Meter => _meter;

    public Histogram<double> RequestDuration { get; }

    public Histogram<double> SlotWait { get; }

    private static IEnumerable<Measurement<long>> PerCommand(Func<RespCommand, long> read)
    {
        for (int c = 0; c < CommandTable.Count; c++)
        {
            var command = (RespCommand)c;
            long value = read(command);
            if (value != 0) yield return new Measurement<long>(value, new KeyValuePair<string, object?>("command", CommandTable.Name(command)));
        }
    }

    private IEnumerable<Measurement<long>> Errors()
    {
        for (int e = 0; e < ErrorCodes.Count; e++)
            yield return new Measurement<long>(_state.Metrics.Errors((ErrorCode)e), new KeyValuePair<string, object?>("code", ErrorCodes.Word((ErrorCode)e)));
    }

    public void Dispose() => _meter.Dispose();
}
