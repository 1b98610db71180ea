using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using Microsoft.Extensions.Logging;
using RankEngine.Server.Resp.Parser;

namespace RankEngine.Server.Resp;

/// <summary>
/// One client connection: reads requests from the input pipe, parses each in place, runs it and writes the reply
/// straight into the output pipe, in request order (so clients may pipeline). Everything between two awaits is
/// synchronous; the session only awaits to read more bytes, to flush replies (bounded by
/// <see cref="ServerLimits.SendBufferBytes"/>, so a client that does not read stalls only itself), or to wait for an
/// in-flight slot. Command handlers live in the per-family partial files.
/// </summary>
internal sealed partial class RespSession
{
    private enum Stop { NeedData, Flush, WaitForSlot, Close }
    private enum Outcome { Done, Incomplete, WaitForSlot, Close }

    private readonly RankServerState _state;
    private readonly IRankingService _engine;
    private readonly ServerLimits _limits;
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly ILogger _logger;
    private readonly ArgumentSlots _slots = new();
    private readonly long _timeoutTicks;
    private readonly byte[]? _authToken;
    private byte[]? _inlineScratch;
    private FrameDiscard _discard;
    private bool _authenticated;
    private bool _resp3;
    private bool _slotHeld;
    private bool _rejectNextEngineCall;
    private long _deadline;
    private string? _clientName;
    private readonly Hosting.ArrivalClock? _arrivals;
    private long _consumedTotal;
    private long _slotWaitStart;
    private readonly Hosting.ConnectionGuard? _guard;
    private long _heldBytes;       // unread request bytes this connection holds (counted in the global budget)
    private int _authFailures;
    private int _authDelayMs;      // set by a failed AUTH: the reply waits this long
    private bool _closeAfterReply;

    /// <summary>
    /// A session over an input and an output pipe. With <c>arrivals</c> (when the input's bytes reached the
    /// server) request deadlines count from arrival; without, from when the session reads them.
    /// </summary>
    public RespSession(RankServerState state, PipeReader input, PipeWriter output, ILogger logger, Hosting.ArrivalClock? arrivals = null,
        Hosting.ConnectionGuard? guard = null)
    {
        _arrivals = arrivals;
        _guard = guard;
        _state = state;
        _engine = state.Service;
        _limits = state.Options.Limits;
        _input = input;
        _output = output;
        _logger = logger;
        _timeoutTicks = (long)(_limits.RequestTimeout.TotalSeconds * Stopwatch.Frequency);
        _authToken = state.Options.AuthToken is { } token ? System.Text.Encoding.UTF8.GetBytes(token) : null;
        _authenticated = _authToken is null;
        Id = state.NextConnectionId();
    }

    /// <summary>Connection id (HELLO reports it).</summary>
    public long Id { get; }

    /// <summary>Serves the connection until the client closes it, a protocol error, QUIT, or <paramref name="cancellation"/>.</summary>
    public async Task RunAsync(CancellationToken cancellation)
    {
        bool freshRead = true;
        _state.Clients.Add(this);
        try
        {
            while (true)
            {
                var read = await _input.ReadAsync(cancellation).ConfigureAwait(false);
                // Without arrival stamps, the deadline of the requests in this read counts from now, unless they were already buffered.
                if (freshRead && _arrivals is null) _deadline = Stopwatch.GetTimestamp() + _timeoutTicks;
                var buffer = read.Buffer;
                var stop = Process(buffer, out var consumed);
                long used = buffer.Slice(0, consumed).Length;
                _consumedTotal += used;
                _state.Metrics.BytesIn(used);
                if (stop == Stop.NeedData) stop = CheckBufferBudget(buffer.Length - used);
                _input.AdvanceTo(consumed, stop == Stop.NeedData ? buffer.End : consumed);
                _guard?.Progress(_consumedTotal);
                if (_authDelayMs > 0)
                {
                    // A failed AUTH: the reply (and everything after it) waits, so guessing is slow.
                    await Task.Delay(_authDelayMs, cancellation).ConfigureAwait(false);
                    _authDelayMs = 0;
                }
                var flush = await _output.FlushAsync(cancellation).ConfigureAwait(false);
                if (flush.IsCompleted || flush.IsCanceled || stop == Stop.Close) break;
                if (stop == Stop.WaitForSlot)
                {
                    long left = _deadline - Stopwatch.GetTimestamp();
                    bool got = left > 0 && await _state.Gate.WaitAsync(TimeSpan.FromSeconds(left / (double)Stopwatch.Frequency), cancellation).ConfigureAwait(false);
                    if (got) _slotHeld = true;
                    else _rejectNextEngineCall = true;
                }
                freshRead = stop == Stop.NeedData;
                if (stop == Stop.NeedData && (read.IsCompleted || read.IsCanceled)) break;
            }
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            _logger.LogDebug("connection {Id} ended: {Message}", Id, e.Message);
        }
        finally
        {
            _state.Clients.Remove(this);
            _state.Buffers.Add(-_heldBytes);
            if (_heldBytes > 64 * 1024) _state.Buffers.MaybeReclaim();
            _heldBytes = 0;
            if (_slotHeld)
            {
                _slotHeld = false;
                _state.Gate.Exit();
            }
            await _input.CompleteAsync().ConfigureAwait(false);
            await _output.CompleteAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Accounts the unread bytes of an incomplete request: before AUTH only a few KiB may wait (AUTH, HELLO and
    /// QUIT fit), and past the global budget a connection holding a large partial request is refused, so stalled
    /// clients cannot pin the server's memory.
    /// </summary>
    private Stop CheckBufferBudget(long unread)
    {
        _state.Buffers.Add(unread - _heldBytes);
        _heldBytes = unread;
        if (unread > 64 * 1024) _state.Buffers.MaybeReclaim(); // tracks the high-water mark
        string? refusal = null;
        ErrorCode code = ErrorCode.Busy;
        if (!_authenticated && unread >= _limits.UnauthenticatedBufferBytes) // the receive loop stops at the budget: a request that fills it cannot be AUTH
        {
            code = ErrorCode.NoAuth;
            refusal = $"authentication required before sending more than {_limits.UnauthenticatedBufferBytes} bytes";
        }
        else if (unread > 64 * 1024 && _state.Buffers.Exhausted)
            refusal = $"server receive buffers full ({_state.Buffers.Limit >> 20} MiB over all connections): request refused";
        if (refusal is null) return Stop.NeedData;
        var writer = new RespWriter(_output, _resp3);
        Error(ref writer, code, refusal);
        writer.Commit();
        _logger.LogDebug("connection {Id}: closed holding {Bytes} unread bytes: {Reason}", Id, unread, refusal);
        return Stop.Close;
    }

    /// <summary>
    /// Runs every complete request in <paramref name="buffer"/> (stopping early to flush or to wait for a slot).
    /// <paramref name="consumed"/> is the end of the last request handled.
    /// </summary>
    private Stop Process(in ReadOnlySequence<byte> buffer, out SequencePosition consumed)
    {
        var writer = new RespWriter(_output, _resp3);
        var rest = buffer;
        Stop stop;
        try
        {
            while (true)
            {
                if (_discard.Active)
                {
                    if (!DiscardFrameRest(ref rest, out bool broken))
                    {
                        stop = broken ? Stop.Close : Stop.NeedData;
                        if (broken) ProtocolError(ref writer, "broken framing inside an over-limit request");
                        break;
                    }
                    continue;
                }
                if (rest.IsEmpty) { stop = Stop.NeedData; break; }
                if (_arrivals is not null && !_slotHeld)
                    _deadline = _arrivals.ArrivalOf(_consumedTotal + buffer.Length - rest.Length) + _timeoutTicks;
                var outcome = RunOne(rest.FirstSpan, ref writer, out int used);
                if (outcome == Outcome.Incomplete && !rest.IsSingleSegment)
                    outcome = RunOneAcrossSegments(rest, ref writer, out used);
                if (outcome == Outcome.Incomplete) { stop = Stop.NeedData; break; }
                if (outcome == Outcome.WaitForSlot) { stop = Stop.WaitForSlot; break; }
                rest = rest.Slice(used);
                if (outcome == Outcome.Close) { stop = Stop.Close; break; }
                if (_authDelayMs > 0 || writer.BytesWritten >= _limits.SendBufferBytes) { stop = Stop.Flush; break; }
            }
        }
        finally
        {
            writer.Commit();
            _state.Metrics.BytesOut(writer.BytesWritten);
        }
        consumed = rest.Start;
        return stop;
    }

    /// <summary>
    /// A request that spans pipe segments is copied into one pooled contiguous buffer (growing ×4 from 4 KiB until
    /// it holds the request) and parsed there.
    /// </summary>
    private Outcome RunOneAcrossSegments(in ReadOnlySequence<byte> rest, ref RespWriter writer, out int used)
    {
        long cap = Math.Min(rest.Length, (long)_limits.MaxFrameBytes + _limits.MaxInlineBytes + 64);
        int size = (int)Math.Min(cap, 4096);
        while (true)
        {
            byte[] scratch = ArrayPool<byte>.Shared.Rent(size);
            try
            {
                rest.Slice(0, size).CopyTo(scratch);
                var outcome = RunOne(scratch.AsSpan(0, size), ref writer, out used);
                if (outcome != Outcome.Incomplete || size == cap) return outcome;
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(scratch);
            }
            size = (int)Math.Min(cap, (long)size * 4);
        }
    }

    private bool DiscardFrameRest(ref ReadOnlySequence<byte> rest, out bool broken)
    {
        broken = false;
        Span<byte> header = stackalloc byte[32];
        while (!rest.IsEmpty)
        {
            bool done = RespFrameParser.TryDiscard(ref _discard, rest.FirstSpan, out int used, out broken);
            if (broken) return false;
            if (used == 0 && !done)
            {
                // A length header split across segments: look at a small contiguous copy.
                if (rest.IsSingleSegment) return false;
                int n = (int)Math.Min(rest.Length, header.Length);
                rest.Slice(0, n).CopyTo(header);
                done = RespFrameParser.TryDiscard(ref _discard, header[..n], out used, out broken);
                if (broken || used == 0) return false;
            }
            rest = rest.Slice(used);
            if (done) return true;
        }
        return !_discard.Active;
    }

    /// <summary>Parses and runs the request at the start of <paramref name="span"/>.</summary>
    private Outcome RunOne(ReadOnlySpan<byte> span, ref RespWriter writer, out int used)
    {
        var status = RespFrameParser.TryParse(span, _limits, _slots, ref _inlineScratch, out used, out int count, out bool inline,
            out var discard, out string? error);
        switch (status)
        {
            case FrameStatus.Incomplete:
                used = 0;
                return Outcome.Incomplete;
            case FrameStatus.ProtocolError:
                ProtocolError(ref writer, error!);
                return Outcome.Close;
            case FrameStatus.TooLarge:
                _discard = discard;
                _state.Metrics.Request(RespCommand.None, 0);
                Error(ref writer, ErrorCode.TooLarge, error!);
                return Outcome.Done;
            case FrameStatus.BadInline:
                _state.Metrics.Request(RespCommand.None, 0);
                Error(ref writer, ErrorCode.BadArg, error!);
                return Outcome.Done;
        }
        if (count == 0) return Outcome.Done;
        var args = new ParseState(inline ? (ReadOnlySpan<byte>)_inlineScratch : span, _slots, count);
        var outcome = Execute(args, ref writer);
        if (outcome == Outcome.WaitForSlot) used = 0;
        return outcome;
    }

    private void ProtocolError(ref RespWriter writer, string message)
    {
        _state.Metrics.Request(RespCommand.None, 0);
        Error(ref writer, ErrorCode.Err, "Protocol error: " + message);
        _logger.LogDebug("connection {Id}: protocol error: {Message}", Id, message);
    }

    private void Error(ref RespWriter writer, ErrorCode code, string message)
    {
        _state.Metrics.Error(code);
        writer.WriteError(code, message);
    }

    /// <summary>Checks authentication, arity and admission, then runs the command's handler.</summary>
    private Outcome Execute(in ParseState args, ref RespWriter writer)
    {
        // Durations count from the request's arrival (or the read that brought it): slot waits and queueing included.
        long start = _deadline - _timeoutTicks;
        var command = CommandTable.Lookup(args[0]);
        _lastCommand = command;
        _lastCommandAt = Stopwatch.GetTimestamp();
        // Before AUTH every verb but AUTH, HELLO and QUIT, known or not, gets NOAUTH: verbs cannot be enumerated.
        if (!_authenticated && !CommandTable.AllowedBeforeAuth(command))
        {
            FlagTransaction();
            _state.Metrics.Request(command, 0);
            Error(ref writer, ErrorCode.NoAuth, CmdStrings.ErrNoAuth);
            return Outcome.Done;
        }
        if (command == RespCommand.None)
        {
            FlagTransaction();
            _state.Metrics.Request(command, 0);
            Error(ref writer, ErrorCode.Err, $"unknown command '{Args.Preview(args[0])}'");
            return Outcome.Done;
        }
        if (!CommandTable.ArityOk(command, args.Count))
        {
            FlagTransaction();
            _state.Metrics.Request(command, 0);
            Error(ref writer, ErrorCode.Err, $"wrong number of arguments for '{CommandTable.Name(command)}' command");
            return Outcome.Done;
        }
        if (_multi is not null && !CommandTable.RunsInMulti(command))
        {
            RunQueuing(command, args, ref writer);
            return Outcome.Done;
        }
        bool usesEngine = CommandTable.UsesEngine(command) || (command == RespCommand.Exec && TransactionUsesEngine());
        if (usesEngine && _slotHeld) _state.Metrics.SlotWait(Stopwatch.GetTimestamp() - _slotWaitStart);
        if (usesEngine && !_slotHeld)
        {
            if (_rejectNextEngineCall || Stopwatch.GetTimestamp() > _deadline)
            {
                _state.Metrics.SlotWait(_rejectNextEngineCall ? Stopwatch.GetTimestamp() - _slotWaitStart : 0);
                _rejectNextEngineCall = false;
                if (command == RespCommand.Exec) _multi = null; // a refused EXEC ends the transaction, as any EXEC reply does
                _state.Metrics.Busy(command);
                _state.Metrics.Request(command, Stopwatch.GetTimestamp() - start);
                Error(ref writer, ErrorCode.Busy, $"server overloaded: no free slot before the request's deadline ({_limits.RequestTimeout.TotalMilliseconds:0} ms)");
                return Outcome.Done;
            }
            if (!_state.Gate.TryEnter())
            {
                _slotWaitStart = Stopwatch.GetTimestamp();
                return Outcome.WaitForSlot;
            }
            _state.Metrics.SlotWait(0);
            _slotHeld = true;
        }
        bool close = false;
        try
        {
            close = RunHandler(command, args, ref writer);
        }
        finally
        {
            if (usesEngine)
            {
                _slotHeld = false;
                _state.Gate.Exit();
            }
            _state.Metrics.Request(command, Stopwatch.GetTimestamp() - start);
        }
        return close || _closeAfterReply ? Outcome.Close : Outcome.Done;
    }

    /// <summary>Queues a command inside MULTI; a refusal (too large) is answered at once and makes EXEC abort.</summary>
    private void RunQueuing(RespCommand command, in ParseState args, ref RespWriter writer)
    {
        try
        {
            Enqueue(command, args, ref writer);
        }
        catch (RespCommandException e)
        {
            Error(ref writer, e.Code, e.Message);
        }
    }

    /// <summary>Runs a handler and turns its failures into error replies. Returns true when the connection is to be closed.</summary>
    private bool RunHandler(RespCommand command, in ParseState args, ref RespWriter writer)
    {
        bool close = false;
        try
        {
            close = Dispatch(command, args, ref writer);
        }
        catch (RespCommandException e)
        {
            Error(ref writer, e.Code, e.Message);
        }
        catch (ArgumentException e)
        {
            Error(ref writer, ErrorCode.BadArg, CleanMessage(e));
        }
        catch (Exception e) when (e is InvalidOperationException or NotSupportedException)
        {
            Error(ref writer, ErrorCode.Err, e.Message);
        }
        catch (Exception e)
        {
            _logger.LogError(e, "connection {Id}: {Command} failed", Id, CommandTable.Name(command));
            // The exception (type, message, stack) goes to the log only: clients get a fixed one-liner.
            Error(ref writer, ErrorCode.Err, $"internal error: {CommandTable.Name(command)} failed inside the server (details in the server log)");
        }
        return close;
    }

    /// <summary>The command → handler switch. Returns true when the connection is to be closed after the reply.</summary>
    private bool Dispatch(RespCommand command, in ParseState args, ref RespWriter writer)
    {
        switch (command)
        {
            case RespCommand.Ping: NetworkPing(args, ref writer); break;
            case RespCommand.Hello: NetworkHello(args, ref writer); break;
            case RespCommand.Auth: NetworkAuth(args, ref writer); break;
            case RespCommand.Quit: writer.WriteOk(); return true;
            case RespCommand.Info: NetworkInfo(args, ref writer); break;
            case RespCommand.Command: writer.WriteArrayHeader(0); break;
            case RespCommand.Encode: NetworkEncode(args, ref writer); break;
            case RespCommand.ItemAdd: NetworkItemAdd(args, ref writer, withVector: false); break;
            case RespCommand.ItemAddVec: NetworkItemAdd(args, ref writer, withVector: true); break;
            case RespCommand.ItemGet: NetworkItemGet(args, ref writer); break;
            case RespCommand.ItemDel: NetworkItemDel(args, ref writer); break;
            case RespCommand.UserEvent: NetworkUserEvent(args, ref writer); break;
            case RespCommand.UserGet: NetworkUserGet(args, ref writer); break;
            case RespCommand.Rank: NetworkRank(args, ref writer); break;
            case RespCommand.Score: NetworkScore(args, ref writer); break;
            case RespCommand.Save: NetworkSave(ref writer); break;
            case RespCommand.Echo: NetworkEcho(args, ref writer); break;
            case RespCommand.Select: NetworkSelect(args, ref writer); break;
            case RespCommand.Client: NetworkClient(args, ref writer); break;
            case RespCommand.Multi: NetworkMulti(ref writer); break;
            case RespCommand.Exec: NetworkExec(ref writer); break;
            case RespCommand.Discard: NetworkDiscard(ref writer); break;
            case RespCommand.Config: NetworkConfig(args, ref writer); break;
            case RespCommand.DbSize: NetworkDbSize(ref writer); break;
            default: throw new RespCommandException(ErrorCode.Err, $"command '{CommandTable.Name(command)}' is not implemented");
        }
        return false;
    }

    /// <summary>An argument exception's message without .NET's " (Parameter 'x')" tail.</summary>
    private static string CleanMessage(ArgumentException e)
    {
        string message = e.Message;
        int tail = message.IndexOf(" (Parameter '", StringComparison.Ordinal);
        if (tail > 0) message = message[..tail];
        int actual = message.IndexOf("\nActual value was", StringComparison.Ordinal);
        return actual > 0 ? message[..actual] : message;
    }
}
