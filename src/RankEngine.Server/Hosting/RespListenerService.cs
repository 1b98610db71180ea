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
        if (_state.Service.LocalStore is { } store) store.BackgroundFailed += OnBackgroundFailure;
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
            var address = (socket.RemoteEndPoint as IPEndPoint)?.Address ?? IPAddress.None;
            if (!_state.Addresses.TryOpen(address, _state.Options.Limits.MaxConnectionsPerAddress))
            {
                _ = RejectAsync(socket, $"too many connections from {address} (limit {_state.Options.Limits.MaxConnectionsPerAddress} per address)");
                continue;
            }
            if (!_state.Metrics.TryOpenConnection(_state.Options.Limits.MaxConnections))
            {
                _state.Addresses.Close(address);
                _ = RejectAsync(socket, $"too many connections (limit {_state.Options.Limits.MaxConnections})");
                continue;
            }
            long id = Interlocked.Increment(ref _nextSession);
            _sessions[id] = Task.Run(() => ServeAsync(id, socket, address, stoppingToken), CancellationToken.None);
        }
    }

    private async Task ServeAsync(long id, Socket socket, IPAddress address, CancellationToken stoppingToken)
    {
        var guard = new ConnectionGuard(address, authenticated: _state.Options.AuthToken is null);
        try
        {
            await using var stream = new NetworkStream(socket, ownsSocket: true);
            var received = SocketReceiver.CreatePipe(_state.Options.Limits);
            var arrivals = new ArrivalClock();
            using var stopReceiving = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            var receive = SocketReceiver.RunAsync(socket, received.Writer, arrivals, stopReceiving.Token, _state.Options.Limits, guard);
            var output = PipeWriter.Create(stream, new StreamPipeWriterOptions(minimumBufferSize: 4096, leaveOpen: true));
            var session = new RespSession(_state, received.Reader, output, _logger, arrivals, guard)
            {
                RemoteEndPoint = socket.RemoteEndPoint,
                LocalEndPoint = socket.LocalEndPoint,
            };
            await session.RunAsync(stoppingToken).ConfigureAwait(false);
            stopReceiving.Cancel(); // the session ended (QUIT, protocol error, client gone): stop reading its socket
            await receive.ConfigureAwait(false);
            if (guard.TimedOut is { } why)
            {
                _state.Metrics.ConnectionTimedOut();
                _logger.LogDebug("connection {Id} from {Address} closed: {Reason}", id, address, why);
            }
        }
        catch (Exception e)
        {
            _logger.LogDebug("connection {Id} failed: {Message}", id, e.Message);
        }
        finally
        {
            _state.Metrics.ConnectionClosed();
            _state.Addresses.Close(address);
            _sessions.TryRemove(id, out _);
        }
    }

    private async Task RejectAsync(Socket socket, string why)
    {
        _state.Metrics.ConnectionRejected();
        _state.Metrics.Error(ErrorCode.Busy);
        try
        {
            using (socket)
            {
                byte[] reply = System.Text.Encoding.ASCII.GetBytes($"-BUSY {why}\r\n");
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                await socket.SendAsync(reply, SocketFlags.None, timeout.Token).ConfigureAwait(false);
                socket.Shutdown(SocketShutdown.Both);
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    private void OnBackgroundFailure(Exception e) =>
        _logger.LogError("store background work failed ({Count} failures so far): {Type}: {Message}",
            _state.Service.LocalStore?.BackgroundErrorCount ?? 0, e.GetType().Name, e.Message);

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_state.Service.LocalStore is { } store) store.BackgroundFailed -= OnBackgroundFailure;
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
