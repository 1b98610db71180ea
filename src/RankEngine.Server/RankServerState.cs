using System.Net;
using RankEngine.Server.Metrics;

namespace RankEngine.Server;

/// <summary>
/// What the server's parts share: the engine, options, metrics, the admission gate, bound endpoints and readiness.
/// One per host (a singleton in its service provider).
/// </summary>
public sealed class RankServerState : IDisposable
{
    /// <summary>Creates the state for an engine (not owned: the caller disposes it after the host stops).</summary>
    public RankServerState(RankingEngine engine, RankServerOptions options) : this((IRankingService)engine, options) { }

    /// <summary>Creates the state for any deployment (an engine, or a cluster front end); not owned.</summary>
    internal RankServerState(IRankingService service, RankServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(options);
        options.Limits.Validate();
        Service = service;
        Options = options;
        Gate = new AdmissionGate(options.Limits.MaxInFlight);
        Buffers = new Hosting.BufferBudget(options.Limits.MaxBufferedBytes);
        Meter = new ServerMeter(this);
    }

    /// <summary>Per-address connection counts and failed AUTH attempts.</summary>
    internal Hosting.AddressBook Addresses { get; } = new();

    /// <summary>Unread request bytes over all connections.</summary>
    internal Hosting.BufferBudget Buffers { get; }

    /// <summary>What every connection calls: the engine, or a cluster front end.</summary>
    internal IRankingService Service { get; }

    /// <summary>The embedded engine every connection calls (single node only).</summary>
    /// <exception cref="InvalidOperationException">This server fronts a cluster.</exception>
    public RankingEngine Engine => Service as RankingEngine ?? throw new InvalidOperationException("this server fronts a cluster: it has no embedded engine");

    /// <summary>The server's settings.</summary>
    public RankServerOptions Options { get; }

    /// <summary>Counters for INFO and /metrics.</summary>
    public ServerMetrics Metrics { get; } = new();

    internal AdmissionGate Gate { get; }

    /// <summary>The metrics as System.Diagnostics.Metrics instruments (meter "RankEngine.Server").</summary>
    internal ServerMeter Meter { get; }

    /// <summary>Open sessions (CLIENT LIST).</summary>
    internal Resp.ClientRegistry Clients { get; } = new();

    /// <summary>Where the protocol listener is bound (the real port when 0 was asked); null before start.</summary>
    public IPEndPoint? RespEndPoint { get; internal set; }

    /// <summary>Where the HTTP endpoint is bound; null when disabled or before start.</summary>
    public IPEndPoint? HttpEndPoint { get; internal set; }

    /// <summary>True while the protocol listener accepts connections (between start and the beginning of shutdown).</summary>
    public bool IsReady => Volatile.Read(ref _ready);

    /// <summary>The last background model refit's failure, or null when it succeeded (or none ran).</summary>
    public string? LastRefitError { get; internal set; }

    private bool _ready;

    internal void SetReady(bool ready) => Volatile.Write(ref _ready, ready);

    private long _nextConnectionId;

    internal long NextConnectionId() => Interlocked.Increment(ref _nextConnectionId);

    /// <inheritdoc/>
    public void Dispose()
    {
        Meter.Dispose();
        Gate.Dispose();
    }
}
