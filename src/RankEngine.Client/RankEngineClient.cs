using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;

namespace RankEngine.Client;

/// <summary>Options of <see cref="RankEngineClient.ConnectAsync(string, int, RankEngineClientOptions?, CancellationToken)"/>.</summary>
public sealed record RankEngineClientOptions
{
    /// <summary>Token sent with AUTH right after connecting (servers started with --auth-token).</summary>
    public string? AuthToken { get; init; }

    /// <summary>How long connecting may take.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Send a PING when the connection has been idle this long, so a server's idle timeout (5 minutes by default)
    /// does not close a long-lived client. Null or zero: never. Default 60 s.
    /// </summary>
    public TimeSpan? KeepAliveInterval { get; init; } = TimeSpan.FromSeconds(60);
}

/// <summary>
/// A connection to a RankEngine server. Thread-safe and pipelined: any number of requests may be in flight at once
/// from any threads; they are written in call order, batched into as few socket writes as possible, and each task
/// completes with the reply that answers it (replies come back in request order). Error replies surface as
/// <see cref="RankEngineServerException"/> (with the code word), a broken connection as
/// <see cref="RankEngineConnectionException"/> on every pending and later request.
/// </summary>
public sealed partial class RankEngineClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly object _lock = new();
    private readonly Queue<TaskCompletionSource<RespValue>> _pending = new();
    private readonly SemaphoreSlim _writeSignal = new(0);
    private readonly CancellationTokenSource _shutdown = new();
    private ArrayBufferWriter<byte> _outgoing = new(64 * 1024);
    private ArrayBufferWriter<byte> _spare = new(64 * 1024);
    private bool _writerSignaled;
    private Exception? _failure;
    private readonly Task _readLoop;
    private readonly Task _writeLoop;
    private readonly Timer? _keepAlive;
    private long _lastSend = Environment.TickCount64;

    private RankEngineClient(Socket socket, TimeSpan? keepAlive)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _readLoop = Task.Run(ReadLoopAsync);
        _writeLoop = Task.Run(WriteLoopAsync);
        if (keepAlive is { } every && every > TimeSpan.Zero)
            _keepAlive = new Timer(_ => KeepAlive(every), null, every, every);
    }

    private void KeepAlive(TimeSpan every)
    {
        if (Environment.TickCount64 - Interlocked.Read(ref _lastSend) < (long)every.TotalMilliseconds) return;
        // A failed PING fails the connection like any request would; nothing to do here.
        _ = PingAsync().ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
    }

    /// <summary>The server's address.</summary>
    public EndPoint? RemoteEndPoint => _socket.RemoteEndPoint;

    /// <summary>Requests sent and not yet answered.</summary>
    public int PendingRequests
    {
        get { lock (_lock) return _pending.Count; }
    }

    /// <summary>Connects (and authenticates when a token is given).</summary>
    /// <exception cref="RankEngineConnectionException">The server cannot be reached or refused the connection.</exception>
    /// <exception cref="RankEngineServerException">AUTH was refused (code NOAUTH).</exception>
    public static async Task<RankEngineClient> ConnectAsync(string host, int port, RankEngineClientOptions? options = null, CancellationToken cancellation = default)
    {
        options ??= new RankEngineClientOptions();
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
            timeout.CancelAfter(options.ConnectTimeout);
            await socket.ConnectAsync(host, port, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            socket.Dispose();
            throw new RankEngineConnectionException($"cannot connect to {host}:{port}: {e.Message}", e);
        }
        var client = new RankEngineClient(socket, options.KeepAliveInterval);
        if (options.AuthToken is not null)
        {
            try
            {
                await client.AuthAsync(options.AuthToken).ConfigureAwait(false);
            }
            catch
            {
                await client.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
        return client;
    }

    /// <inheritdoc cref="ConnectAsync(string, int, RankEngineClientOptions?, CancellationToken)"/>
    public static Task<RankEngineClient> ConnectAsync(IPEndPoint endPoint, RankEngineClientOptions? options = null, CancellationToken cancellation = default) =>
        ConnectAsync(endPoint.Address.ToString(), endPoint.Port, options, cancellation);

    /// <summary>Sends any command (arguments as UTF-8 text) and returns the raw reply; an error reply throws.</summary>
    public Task<RespValue> ExecuteAsync(params string[] arguments)
    {
        if (arguments is null || arguments.Length == 0) throw new ArgumentException("give at least the command name");
        var request = new RequestBuilder(arguments[0]);
        for (int i = 1; i < arguments.Length; i++) request.Add(arguments[i]);
        return Send(ref request);
    }

    /// <summary>Sends any command with binary arguments and returns the raw reply; an error reply throws.</summary>
    public Task<RespValue> ExecuteAsync(string command, IReadOnlyList<ReadOnlyMemory<byte>> arguments)
    {
        var request = new RequestBuilder(command);
        foreach (var a in arguments) request.Add(a.Span);
        return Send(ref request);
    }

    /// <summary>Queues a request: bytes appended to the outgoing batch and its reply slot enqueued under one lock, so both orders agree.</summary>
    private Task<RespValue> Send(ref RequestBuilder request)
    {
        var reply = new TaskCompletionSource<RespValue>(TaskCreationOptions.RunContinuationsAsynchronously);
        bool signal = false;
        try
        {
            lock (_lock)
            {
                if (_failure is not null)
                    return Task.FromException<RespValue>(new RankEngineConnectionException($"the connection is closed: {_failure.Message}", _failure));
                request.WriteTo(_outgoing);
                _pending.Enqueue(reply);
                Interlocked.Exchange(ref _lastSend, Environment.TickCount64);
                if (!_writerSignaled) _writerSignaled = signal = true;
            }
        }
        finally
        {
            request.Dispose();
        }
        if (signal) _writeSignal.Release();
        return reply.Task;
    }

    private async Task WriteLoopAsync()
    {
        try
        {
            while (true)
            {
                await _writeSignal.WaitAsync(_shutdown.Token).ConfigureAwait(false);
                ArrayBufferWriter<byte> batch;
                lock (_lock)
                {
                    batch = _outgoing;
                    _outgoing = _spare;
                    _writerSignaled = false;
                }
                await _stream.WriteAsync(batch.WrittenMemory, _shutdown.Token).ConfigureAwait(false);
                batch.ResetWrittenCount();
                lock (_lock) _spare = batch;
            }
        }
        catch (Exception e)
        {
            Fail(e is OperationCanceledException ? new ObjectDisposedException(nameof(RankEngineClient)) : e);
        }
    }

    private async Task ReadLoopAsync()
    {
        var reader = PipeReader.Create(_stream, new StreamPipeReaderOptions(bufferSize: 64 * 1024, leaveOpen: true));
        try
        {
            while (true)
            {
                var read = await reader.ReadAsync(_shutdown.Token).ConfigureAwait(false);
                var consumed = DeliverReplies(read.Buffer);
                reader.AdvanceTo(consumed, read.Buffer.End);
                if (read.IsCompleted)
                {
                    Fail(new RankEngineConnectionException("the server closed the connection"));
                    break;
                }
            }
        }
        catch (Exception e)
        {
            Fail(e is OperationCanceledException ? new ObjectDisposedException(nameof(RankEngineClient)) : e);
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Completes pending requests with every whole reply in the buffer; returns where the unparsed rest starts.</summary>
    private SequencePosition DeliverReplies(in ReadOnlySequence<byte> buffer)
    {
        var reader = new SequenceReader<byte>(buffer);
        while (RespReplyParser.TryParse(ref reader, out var value))
        {
            TaskCompletionSource<RespValue>? pending;
            lock (_lock) _pending.TryDequeue(out pending);
            if (pending is null)
            {
                // A reply nobody asked for: the server refusing the connection (-BUSY) or closing it after a protocol error.
                throw new RankEngineConnectionException(value.Type == RespType.Error
                    ? $"the server sent {value.Text}"
                    : "the server sent a reply with no request pending");
            }
            if (value.Type == RespType.Error) pending.TrySetException(new RankEngineServerException(value.Text!));
            else pending.TrySetResult(value);
        }
        return reader.Position;
    }

    private void Fail(Exception cause)
    {
        TaskCompletionSource<RespValue>[] orphans;
        lock (_lock)
        {
            _failure ??= cause;
            orphans = _pending.ToArray();
            _pending.Clear();
        }
        var error = cause as RankEngineConnectionException ?? new RankEngineConnectionException($"connection failed: {cause.Message}", cause);
        foreach (var o in orphans) o.TrySetException(error);
        try { _socket.Shutdown(SocketShutdown.Both); } catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
    }

    /// <summary>Closes the connection; pending requests fail.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_keepAlive is not null) await _keepAlive.DisposeAsync().ConfigureAwait(false);
        Fail(new ObjectDisposedException(nameof(RankEngineClient)));
        _shutdown.Cancel();
        try { await Task.WhenAll(_readLoop, _writeLoop).ConfigureAwait(false); } catch (Exception) { }
        await _stream.DisposeAsync().ConfigureAwait(false);
        _shutdown.Dispose();
        _writeSignal.Dispose();
    }
}
