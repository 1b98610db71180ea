using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RankEngine.Server.Metrics;

namespace RankEngine.Server.Http;

/// <summary>
/// A deliberately tiny HTTP/1.1 endpoint over a TCP listener (ASP.NET Core is not part of this build):
/// <c>GET /healthz</c> (200 while the process runs), <c>GET /readyz</c> (200 while the protocol listener accepts and
/// the store's background work is not failing, else 503 with the reason) and <c>GET /metrics</c> (Prometheus text;
/// with <see cref="RankServerOptions.MetricsRequireAuth"/> it needs <c>Authorization: Bearer token</c>). One request
/// per connection; request heads over 8 KiB are refused. Slow clients cannot starve probes: a head must arrive
/// within 2 s, and when 32 connections are already waiting for theirs, a new connection evicts the one that has
/// waited longest. A probe sends its head at once and is answered long before it could be the oldest, while a
/// slowloris client holding connections open only evicts its own.
/// </summary>
internal sealed class HttpEndpointService : BackgroundService
{
    private const int MaxHeadBytes = 8192;
    internal static readonly TimeSpan HeadTimeout = TimeSpan.FromSeconds(2);
    private readonly RankServerState _state;
    private readonly ILogger<HttpEndpointService> _logger;
    internal const int MaxPendingHeads = 32;
    private readonly LinkedList<CancellationTokenSource> _pending = new(); // connections waiting for their head, oldest first
    private TcpListener? _listener;

    public HttpEndpointService(RankServerState state, ILogger<HttpEndpointService> logger)
    {
        _state = state;
        _logger = logger;
    }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        var endPoint = new IPEndPoint(_state.Options.BindAddress, _state.Options.HttpPort ?? 0);
        var listener = new TcpListener(endPoint);
        try
        {
            listener.Start(64);
        }
        catch (SocketException e)
        {
            throw new IOException($"cannot listen for HTTP on {endPoint}: {e.Message}", e);
        }
        _listener = listener;
        _state.HttpEndPoint = (IPEndPoint)listener.LocalEndpoint;
        _logger.LogInformation("health and metrics on http://{EndPoint}/ (healthz, readyz, metrics)", _state.HttpEndPoint);
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener!.AcceptSocketAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException || stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (SocketException)
            {
                continue;
            }
            var timeout = new CancellationTokenSource(HeadTimeout);
            LinkedListNode<CancellationTokenSource> node;
            lock (_pending)
            {
                if (_pending.Count >= MaxPendingHeads)
                {
                    // Evict the connection that has waited longest for its head (a slow client, not a probe).
                    var oldest = _pending.First!;
                    _pending.RemoveFirst();
                    oldest.Value.Cancel();
                }
                node = _pending.AddLast(timeout);
            }
            _ = Task.Run(() => ServeAsync(socket, timeout, node), CancellationToken.None);
        }
    }

    private void HeadDone(LinkedListNode<CancellationTokenSource> node)
    {
        lock (_pending)
            if (node.List is not null) _pending.Remove(node);
    }

    private async Task ServeAsync(Socket socket, CancellationTokenSource timeout, LinkedListNode<CancellationTokenSource> node)
    {
        using (socket)
        using (timeout)
        {
            try
            {
                var head = new byte[MaxHeadBytes];
                int length = 0;
                while (head.AsSpan(0, length).IndexOf("\r\n\r\n"u8) < 0)
                {
                    if (length == head.Length) { await RespondAsync(socket, 431, "Request Header Fields Too Large", "text/plain", "request head too large\n", timeout.Token).ConfigureAwait(false); return; }
                    int n = await socket.ReceiveAsync(head.AsMemory(length), SocketFlags.None, timeout.Token).ConfigureAwait(false);
                    if (n == 0) return;
                    length += n;
                }
                HeadDone(node);
                var (status, reason, contentType, body) = Route(head.AsSpan(0, length));
                // The head is in: give the reply its own short budget.
                timeout.CancelAfter(HeadTimeout);
                await RespondAsync(socket, status, reason, contentType, body, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or IOException)
            {
                _logger.LogDebug("HTTP connection dropped: {Message}", e.Message);
            }
            finally
            {
                HeadDone(node);
            }
        }
    }

    /// <summary>Maps the request line to a response.</summary>
    internal (int Status, string Reason, string ContentType, string Body) Route(ReadOnlySpan<byte> head)
    {
        int lineEnd = head.IndexOf("\r\n"u8);
        string line = Encoding.ASCII.GetString(head[..lineEnd]);
        string[] parts = line.Split(' ');
        if (parts.Length != 3 || !parts[2].StartsWith("HTTP/1.", StringComparison.Ordinal)) return (400, "Bad Request", "text/plain", "bad request line\n");
        if (parts[0] is not ("GET" or "HEAD")) return (405, "Method Not Allowed", "text/plain", "only GET\n");
        string path = parts[1];
        int query = path.IndexOf('?');
        if (query >= 0) path = path[..query];
        return path switch
        {
            "/healthz" => (200, "OK", "text/plain", "ok\n"),
            "/readyz" => Readiness(),
            "/metrics" when !MetricsAuthorized(head) => (401, "Unauthorized", "text/plain", "metrics need Authorization: Bearer <token>\n"),
            "/metrics" => (200, "OK", "text/plain; version=0.0.4; charset=utf-8", PrometheusText.Render(_state)),
            _ => (404, "Not Found", "text/plain", "not found (try /healthz, /readyz, /metrics)\n"),
        };
    }

    private (int, string, string, string) Readiness()
    {
        if (!_state.IsReady) return (503, "Service Unavailable", "text/plain", "not ready\n");
        if (_state.Service.LocalStore is { BackgroundFailing: true } store)
        {
            string why = store.LastBackgroundError is { } e ? $"{e.GetType().Name}: {e.Message}".ReplaceLineEndings(" ") : "unknown";
            return (503, "Service Unavailable", "text/plain", $"not ready: store background work failing ({why})\n");
        }
        return (200, "OK", "text/plain", "ready\n");
    }

    /// <summary>True unless /metrics needs the token and the head lacks <c>Authorization: Bearer token</c>.</summary>
    private bool MetricsAuthorized(ReadOnlySpan<byte> head)
    {
        if (!_state.Options.MetricsRequireAuth || _state.Options.AuthToken is not { } token) return true;
        byte[] expected = Encoding.UTF8.GetBytes("Bearer " + token);
        foreach (var range in head.Split("\r\n"u8))
        {
            var line = head[range];
            int colon = line.IndexOf((byte)':');
            if (colon < 0 || !Ascii.EqualsIgnoreCase(line[..colon].Trim((byte)' '), "Authorization"u8)) continue;
            return System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(line[(colon + 1)..].Trim((byte)' '), expected);
        }
        return false;
    }

    private static async Task RespondAsync(Socket socket, int status, string reason, string contentType, string body, CancellationToken cancellation)
    {
        byte[] content = Encoding.UTF8.GetBytes(body);
        byte[] header = Encoding.ASCII.GetBytes(
            $"HTTP/1.1 {status} {reason}\r\nContent-Type: {contentType}\r\nContent-Length: {content.Length}\r\nConnection: close\r\n\r\n");
        await socket.SendAsync(header, SocketFlags.None, cancellation).ConfigureAwait(false);
        await socket.SendAsync(content, SocketFlags.None, cancellation).ConfigureAwait(false);
        socket.Shutdown(SocketShutdown.Send);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _listener?.Stop();
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    public override void Dispose()
    {
        base.Dispose();
    }
}
