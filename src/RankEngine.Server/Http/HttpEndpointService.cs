using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RankEngine.Server.Metrics;

namespace RankEngine.Server.Http;

/// <summary>
/// A deliberately tiny HTTP/1.1 endpoint over a TCP listener (ASP.NET Core is not part of this build):
/// <c>GET /healthz</c> (200 while the process runs), <c>GET /readyz</c> (200 while the protocol listener accepts,
/// else 503) and <c>GET /metrics</c> (Prometheus text). One request per connection; request heads over 8 KiB or
/// slower than 5 s are dropped; at most 16 connections are served at once.
/// </summary>
internal sealed class HttpEndpointService : BackgroundService
{
    private const int MaxHeadBytes = 8192;
    private readonly RankServerState _state;
    private readonly ILogger<HttpEndpointService> _logger;
    private readonly SemaphoreSlim _concurrency = new(16, 16);
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
            if (!_concurrency.Wait(0))
            {
                socket.Dispose();
                continue;
            }
            _ = Task.Run(async () =>
            {
                try { await ServeAsync(socket).ConfigureAwait(false); }
                finally { _concurrency.Release(); }
            }, CancellationToken.None);
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        using (socket)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                var head = new byte[MaxHeadBytes];
                int length = 0;
                while (head.AsSpan(0, length).IndexOf("\r\n\r\n"u8) < 0)
                {
                    if (length == head.Length) { await RespondAsync(socket, 431, "Request Header Fields Too Large", "text/plain", "request head too large\n", timeout.Token).ConfigureAwait(false); return; }
                    int n = await socket.ReceiveAsync(head.AsMemory(length), SocketFlags.None, timeout.Token).ConfigureAwait(false);
                    if (n == 0) return;
                    length += n;
                }
                var (status, reason, contentType, body) = Route(head.AsSpan(0, length));
                await RespondAsync(socket, status, reason, contentType, body, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or IOException)
            {
                _logger.LogDebug("HTTP connection dropped: {Message}", e.Message);
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
            "/readyz" => _state.IsReady ? (200, "OK", "text/plain", "ready\n") : (503, "Service Unavailable", "text/plain", "not ready\n"),
            "/metrics" => (200, "OK", "text/plain; version=0.0.4; charset=utf-8", PrometheusText.Render(_state)),
            _ => (404, "Not Found", "text/plain", "not found (try /healthz, /readyz, /metrics)\n"),
        };
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
        _concurrency.Dispose();
        base.Dispose();
    }
}
