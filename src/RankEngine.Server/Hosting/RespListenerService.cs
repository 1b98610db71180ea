using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RankEngine.Server.Resp;

namespace RankEngine.Server.Hosting;

/// <summary>
/// The protocol listener: accepts TCP connections and runs one <see cref="RespSession"/> per connection over
/// System.IO.Pipelines. Binds in <see cref="StartAsync"/> (so the bound port is known once the host has started),
/// refuses connections beyond <see cref="ServerLimits.MaxConnections"/> with <c>-BUSY</c>, and on stop closes the
/// listener, cancels the sessions (a running engine call completes first) and waits for them.
/// </summary>
internal sealed class RespListenerService : BackgroundService
{
    private readonly RankServerState _state;
    private readonly ILogger<RespListenerService> _logger;
    private readonly ConcurrentDictionary<long, Task> _sessions = new();
    private Socket? _listener;
    private long _nextSession;

    public RespListenerService(RankServerState state, ILogger<RespListenerService> logger)
    {
        _state = state;
        _logger = logger;
    }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        var options = _state.Options;
        var endPoint = new IPEndPoint(options.BindAddress, options.Port);
        var listener = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.Bind(endPoint);
            listener.Listen(512);
        }
        catch (SocketException e)
        {
            listener.Dispose();
            throw new IOException($"cannot listen on {endPoint}: {e.Message}", e);
        }
        _listener = listener;
        _state.RespEndPoint = (IPEndPoint)listener.LocalEndPoint!;
        _state.SetReady(true);
        _logger.LogInformation("RankEngine protocol listening on {EndPoint}{Auth}", _state.RespEndPoint,
            options.AuthToken is null ? "" : " (AUTH required)");
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var listener = _listener!;
        while (!stoppingToken.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException || stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (SocketException e)
            {
                _logger.LogWarning("accept failed: {Message}", e.Message);
                continue;
            }
            socket.NoDelay = true;
            if (!_state.Metrics.TryOpenConnection(_state.Options.Limits.MaxConnections))
            {
                _ = RejectAsync(socket);
                continue;
            }
            long id = Interlocked.Increment(ref _nextSession);
            _sessions[id] = Task.Run(() => ServeAsync(id, socket, stoppingToken), CancellationToken.None);
        }
    }

    private async Task ServeAsync(long id, Socket socket, CancellationToken stoppingToken)
    {
        try
        {
            await using var stream = new NetworkStream(socket, ownsSocket: true);
            var received = SocketReceiver.CreatePipe(_state.Options.Limits);
            var arrivals = new ArrivalClock();
            using var stopReceiving = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            var receive = SocketReceiver.RunAsync(socket, received.Writer, arrivals, stopReceiving.Token);
            var output = PipeWriter.Create(stream, new StreamPipeWriterOptions(minimumBufferSize: 4096, leaveOpen: true));
            var session = new RespSession(_state, received.Reader, output, _logger, arrivals)
            {
                RemoteEndPoint = socket.RemoteEndPoint,
                LocalEndPoint = socket.LocalEndPoint,
            };
            await session.RunAsync(stoppingToken).ConfigureAwait(false);
            stopReceiving.Cancel(); // the session ended (QUIT, protocol error, client gone): stop reading its socket
            await receive.ConfigureAwait(false);
        }
        catch (Exception e)
        {
            _logger.LogDebug("connection {Id} failed: {Message}", id, e.Message);
        }
        finally
        {
            _state.Metrics.ConnectionClosed();
            _sessions.TryRemove(id, out _);
        }
    }

    private async Task RejectAsync(Socket socket)
    {
        _state.Metrics.ConnectionRejected();
        _state.Metrics.Error(ErrorCode.Busy);
        try
        {
            using (socket)
            {
                byte[] reply = System.Text.Encoding.ASCII.GetBytes($"-BUSY too many connections (limit {_state.Options.Limits.MaxConnections})\r\n");
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                await socket.SendAsync(reply, SocketFlags.None, timeout.Token).ConfigureAwait(false);
                socket.Shutdown(SocketShutdown.Both);
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _state.SetReady(false);
        _listener?.Dispose();
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_sessions.Values).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            _logger.LogWarning("{Count} connections still open at shutdown", _sessions.Count);
        }
    }
}
