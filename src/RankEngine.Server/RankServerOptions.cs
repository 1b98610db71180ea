using System.Net;

namespace RankEngine.Server;

/// <summary>
/// Settings of the RankEngine server: where it listens, who may talk to it, and the limits every request is checked
/// against while it is parsed (before anything is allocated for it).
/// </summary>
public sealed record RankServerOptions
{
    /// <summary>Default TCP port of the ranking protocol.</summary>
    public const int DefaultPort = 6390;

    /// <summary>Default port of the HTTP health and metrics endpoint.</summary>
    public const int DefaultHttpPort = 6391;

    /// <summary>Address the protocol and HTTP listeners bind to. Loopback unless told otherwise.</summary>
    public IPAddress BindAddress { get; init; } = IPAddress.Loopback;

    /// <summary>TCP port of the ranking protocol; 0 picks a free port (see <see cref="RankServerState.RespEndPoint"/>).</summary>
    public int Port { get; init; } = DefaultPort;

    /// <summary>Port of the HTTP endpoint (/healthz, /readyz, /metrics); 0 picks a free port; null disables it.</summary>
    public int? HttpPort { get; init; } = DefaultHttpPort;

    /// <summary>When set, every command but AUTH, HELLO … AUTH and QUIT is refused with NOAUTH until the client sends this token.</summary>
    public string? AuthToken { get; init; }

    /// <summary>With a token set: /metrics answers 401 unless the request carries <c>Authorization: Bearer &lt;token&gt;</c>. /healthz and /readyz stay open.</summary>
    public bool MetricsRequireAuth { get; init; }

    /// <summary>Name of the model file, reported by INFO (the engine does not keep it).</summary>
    public string? ModelName { get; init; }

    /// <summary>Limits on requests, connections and concurrency.</summary>
    public ServerLimits Limits { get; init; } = new();

    /// <summary>When the server refits the ranking model in the background.</summary>
    public RefitOptions Refit { get; init; } = new();
}

/// <summary>
/// Request and resource limits. Sizes are in bytes. Frame, array and bulk limits are checked on each header as it is
/// parsed; a request over a limit is answered <c>-TOOLARGE</c> and its remaining bytes are discarded without being
/// buffered, so the connection stays usable.
/// </summary>
public sealed record ServerLimits
{
    /// <summary>Largest request frame (all arguments with their headers).</summary>
    public int MaxFrameBytes { get; init; } = 2 * 1024 * 1024;

    /// <summary>Most arguments in one request (the verb included).</summary>
    public int MaxArguments { get; init; } = 16_384;

    /// <summary>Largest single argument.</summary>
    public int MaxArgumentBytes { get; init; } = 1024 * 1024;

    /// <summary>Longest inline command line (for <c>nc</c>/telnet use).</summary>
    public int MaxInlineBytes { get; init; } = 64 * 1024;

    /// <summary>Longest text (item text, query, ENCODE input), in UTF-8 bytes.</summary>
    public int MaxTextBytes { get; init; } = RankEngine.Store.StoreLimits.MaxTextBytes;

    /// <summary>Most texts in one ENCODE.</summary>
    public int MaxEncodeBatch { get; init; } = 256;

    /// <summary>Most candidate ids in one RANK or SCORE.</summary>
    public int MaxCandidates { get; init; } = 10_000;

    /// <summary>Most FILTER and most BOOST clauses in one RANK.</summary>
    public int MaxClauses { get; init; } = 32;

    /// <summary>Most open protocol connections; further ones are answered <c>-BUSY</c> and closed.</summary>
    public int MaxConnections { get; init; } = 1024;

    /// <summary>Most open protocol connections from one client address, so one client cannot take every slot. Default 256.</summary>
    public int MaxConnectionsPerAddress { get; init; } = 256;

    /// <summary>A connection that sends nothing for this long is closed (like Redis' <c>timeout</c>). Zero: never. Default 5 minutes.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>With a token set: a connection that has not authenticated this long after it opened is closed. Default 10 s.</summary>
    public TimeSpan AuthTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// With a token set: the most unread request bytes a connection may hold before it authenticates. AUTH, HELLO and
    /// QUIT fit; anything larger is answered NOAUTH and the connection closed, so unauthenticated clients pin almost
    /// no memory. Default 4 KiB.
    /// </summary>
    public int UnauthenticatedBufferBytes { get; init; } = 4096;

    /// <summary>
    /// Unread request bytes buffered over all connections. Past it, a connection holding an incomplete request
    /// larger than 64 KiB is answered <c>-BUSY</c> and closed instead of buffering more. Default 256 MiB.
    /// </summary>
    public long MaxBufferedBytes { get; init; } = 256L << 20;

    /// <summary>Failed AUTH attempts after which a connection is closed. Each failure is also delayed (longer the more failures its address had in the last minute) and logged. Default 3.</summary>
    public int MaxAuthFailures { get; init; } = 3;

    /// <summary>
    /// Most work one request may ask for, in multiply-adds, checked before it runs (answered <c>-TOOLARGE</c>):
    /// RANK with DIVERSITY costs k × pool × dimension (MMR compares each pick with a pool of max(4k, k + 50)
    /// candidates), without it k × dimension. The default, 2^27, is about 35 ms of MMR at the ~3.8 G multiply-adds/s
    /// measured on a shared 2-vCPU Xeon (bench/HISTORY.md), so a RANK stays near 100 ms with its catalog scan:
    /// <c>RANK u K 4096 DIVERSITY 0.5</c> (3.7e10) is refused, <c>K 200 DIVERSITY 0.5</c> at 544 dimensions (8.7e7) runs.
    /// </summary>
    public long MaxRequestCost { get; init; } = 1L << 27;

    /// <summary>Bytes of a text beyond which encoding costs no more (the encoder truncates to its sequence length).</summary>
    public const int EncodeBytesPerTextCap = 512;

    /// <summary>
    /// Most text in one ENCODE, in UTF-8 bytes with each text counting at most <see cref="EncodeBytesPerTextCap"/>:
    /// the encoder's work is about proportional to it. Default 32 KiB, i.e. 64 full-length texts (about 0.3–0.5 s
    /// with USE-lite on two cores, bench/HISTORY.md); the old maximum, 256 full texts, took 1.3–2 s.
    /// </summary>
    public int MaxEncodeBytes { get; init; } = 32 * 1024;

    /// <summary>
    /// Most engine calls running at once over all connections. A request that finds no free slot waits for one
    /// until its deadline, then is answered <c>-BUSY</c>.
    /// </summary>
    public int MaxInFlight { get; init; } = Environment.ProcessorCount;

    /// <summary>
    /// Per-request deadline, counted from when the server read the request: a request that cannot start before it
    /// is answered <c>-BUSY</c> without running. A started engine call is not interrupted.
    /// </summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Replies buffered for one connection before they are pushed to the socket (the send buffer's bound, plus one reply).</summary>
    public int SendBufferBytes { get; init; } = 64 * 1024;

    /// <summary>Checks the limits are usable.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A limit is not positive or the sizes are inconsistent.</exception>
    public void Validate()
    {
        static void Positive(long value, string name)
        {
            if (value <= 0) throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive");
        }
        Positive(MaxFrameBytes, nameof(MaxFrameBytes));
        Positive(MaxArguments, nameof(MaxArguments));
        Positive(MaxArgumentBytes, nameof(MaxArgumentBytes));
        Positive(MaxInlineBytes, nameof(MaxInlineBytes));
        Positive(MaxTextBytes, nameof(MaxTextBytes));
        Positive(MaxEncodeBatch, nameof(MaxEncodeBatch));
        Positive(MaxCandidates, nameof(MaxCandidates));
        Positive(MaxClauses, nameof(MaxClauses));
        Positive(MaxConnections, nameof(MaxConnections));
        Positive(MaxInFlight, nameof(MaxInFlight));
        Positive(SendBufferBytes, nameof(SendBufferBytes));
        Positive(MaxConnectionsPerAddress, nameof(MaxConnectionsPerAddress));
        Positive(UnauthenticatedBufferBytes, nameof(UnauthenticatedBufferBytes));
        Positive(MaxBufferedBytes, nameof(MaxBufferedBytes));
        Positive(MaxAuthFailures, nameof(MaxAuthFailures));
        Positive(MaxRequestCost, nameof(MaxRequestCost));
        Positive(MaxEncodeBytes, nameof(MaxEncodeBytes));
        if (IdleTimeout < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(IdleTimeout), IdleTimeout, "IdleTimeout must not be negative (zero: never)");
        if (AuthTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(AuthTimeout), AuthTimeout, "AuthTimeout must be positive");
        if (RequestTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(RequestTimeout), RequestTimeout, "RequestTimeout must be positive");
        if (MaxArgumentBytes > MaxFrameBytes) throw new ArgumentOutOfRangeException(nameof(MaxArgumentBytes), "MaxArgumentBytes cannot exceed MaxFrameBytes");
    }
}

/// <summary>Background refits of the ranking model (<see cref="RankingEngine.Train"/>).</summary>
public sealed record RefitOptions
{
    /// <summary>How often to check whether enough new events arrived; null disables background refits.</summary>
    public TimeSpan? CheckInterval { get; init; } = TimeSpan.FromMinutes(1);
    /// <summary>New events needed before a refit.</summary>
    public long MinNewEvents { get; init; } = 1000;
    /// <summary>New events needed as a share of the events the served model was trained on.</summary>
    public double MinNewFraction { get; init; } = 0.1;
}
