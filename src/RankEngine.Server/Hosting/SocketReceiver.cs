using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net.Sockets;

namespace RankEngine.Server.Hosting;

/// <summary>
/// When each received byte arrived: the receive loop appends a mark (end offset, time) per socket read; the session
/// asks for the arrival time of a request's first byte, so a request's deadline counts from when it reached the
/// server, not from when the session got round to it (under overload, queued requests are then answered BUSY
/// instead of waiting out their turn). One producer, one consumer.
/// </summary>
internal sealed class ArrivalClock
{
    private readonly ConcurrentQueue<(long End, long Timestamp)> _marks = new();

    /// <summary>Bytes up to <paramref name="end"/> (absolute offset) arrived at <paramref name="timestamp"/>.</summary>
    public void Received(long end, long timestamp) => _marks.Enqueue((end, timestamp));

    /// <summary>
    /// Arrival time (Stopwatch ticks) of the byte at absolute <paramref name="offset"/>; marks of bytes before it
    /// are dropped (offsets only move forward).
    /// </summary>
    public long ArrivalOf(long offset)
    {
        while (_marks.TryPeek(out var mark) && mark.End <= offset) _marks.TryDequeue(out _);
        return _marks.TryPeek(out var current) ? current.Timestamp : Stopwatch.GetTimestamp();
    }
}

/// <summary>
/// Moves bytes from a socket into a pipe as soon as they arrive, stamping them on an <see cref="ArrivalClock"/>.
/// The pipe pauses the loop once <c>pauseBytes</c> are unread (one maximal request plus slack), so a client that
/// sends faster than it is served is held back by TCP flow control, not by server memory.
/// </summary>
internal static class SocketReceiver
{
    public static Pipe CreatePipe(ServerLimits limits)
    {
        long pause = (long)limits.MaxFrameBytes + limits.MaxInlineBytes + 128 * 1024;
        return new Pipe(new PipeOptions(
            pool: MemoryPool<byte>.Shared,
            pauseWriterThreshold: pause,
            resumeWriterThreshold: pause / 2,
            minimumSegmentSize: 16 * 1024,
            useSynchronizationContext: false));
    }

    /// <summary>
    /// The receive loop. It first waits for data with an empty buffer (so an idle connection holds no pipe memory),
    /// then reads into the pipe. It closes the connection (completes the pipe) when nothing arrives for
    /// <see cref="ServerLimits.IdleTimeout"/>, or when <paramref name="guard"/> has not authenticated by
    /// <see cref="ServerLimits.AuthTimeout"/> after the start.
    /// </summary>
    public static async Task RunAsync(Socket socket, PipeWriter writer, ArrivalClock clock, CancellationToken cancellation,
        ServerLimits? limits = null, ConnectionGuard? guard = null)
    {
        Exception? error = null;
        long total = 0;
        long idleTicks = limits is null || limits.IdleTimeout <= TimeSpan.Zero ? long.MaxValue : (long)(limits.IdleTimeout.TotalSeconds * Stopwatch.Frequency);
        long authDeadline = guard is null || guard.Authenticated || limits is null
            ? long.MaxValue : Stopwatch.GetTimestamp() + (long)(limits.AuthTimeout.TotalSeconds * Stopwatch.Frequency);
        var timer = new CancellationTokenSource();
        var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellation, timer.Token);
        try
        {
            while (true)
            {
                long now = Stopwatch.GetTimestamp();
                bool authPending = guard is not null && !guard.Authenticated && authDeadline != long.MaxValue;
                if (authPending && now >= authDeadline) { guard!.TimedOut = "authentication deadline"; break; }
                if (authPending && total - guard!.Consumed >= limits!.UnauthenticatedBufferBytes)
                {
                    // Before AUTH a client may be only a few KiB ahead of the session: read nothing more until it
                    // catches up, authenticates or the deadline passes (the session closes it if it never can).
                    await guard.WaitProgressAsync(TimeSpan.FromSeconds(Math.Max(0, authDeadline - now) / (double)Stopwatch.Frequency), cancellation).ConfigureAwait(false);
                    continue;
                }
                long wait = Math.Min(idleTicks, authPending ? authDeadline - now : long.MaxValue);
                if (wait != long.MaxValue) timer.CancelAfter(TimeSpan.FromSeconds(wait / (double)Stopwatch.Frequency));
                int n;
                try
                {
                    await socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, linked.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
                {
                    // The timer fired: either the authentication deadline (checked at the loop's top) or idleness.
                    if (guard is not null && !guard.Authenticated && Stopwatch.GetTimestamp() >= authDeadline) { guard.TimedOut = "authentication deadline"; break; }
                    if (Stopwatch.GetTimestamp() - now >= idleTicks) { if (guard is not null) guard.TimedOut = "idle timeout"; break; }
                    // Authenticated meanwhile: wait again with fresh timers (a fired one cannot be reset).
                    linked.Dispose();
                    timer.Dispose();
                    timer = new CancellationTokenSource();
                    linked = CancellationTokenSource.CreateLinkedTokenSource(cancellation, timer.Token);
                    continue;
                }
                timer.TryReset();
                var memory = writer.GetMemory(16 * 1024);
                if (guard is not null && !guard.Authenticated && limits is not null)
                    memory = memory[..(int)Math.Clamp(limits.UnauthenticatedBufferBytes - (total - guard.Consumed), 1, memory.Length)];
                n = await socket.ReceiveAsync(memory, SocketFlags.None, cancellation).ConfigureAwait(false);
                if (n == 0) break;
                writer.Advance(n);
                total += n;
                clock.Received(total, Stopwatch.GetTimestamp()); // before the flush makes the bytes visible
                var flush = await writer.FlushAsync(cancellation).ConfigureAwait(false);
                if (flush.IsCompleted || flush.IsCanceled) break;
            }
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
        {
            error = e;
        }
        finally
        {
            linked.Dispose();
            timer.Dispose();
        }
        await writer.CompleteAsync(error).ConfigureAwait(false);
    }
}
