using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace RankEngine.Bench.Server;

/// <summary>
/// A redis-benchmark-style load generator: pre-encoded requests written over raw sockets, replies counted by a
/// non-allocating RESP scanner, latency measured per request from its send (closed loop) or its scheduled send
/// time (open loop), so the figures measure the server, not a client library.
/// </summary>
internal static class RespLoad
{
    public sealed class Result
    {
        public long Ok;
        public long Busy;
        public long OtherErrors;
        public double Seconds;
        public readonly List<double> LatenciesMs = new();
        public double Throughput => (Ok + Busy + OtherErrors) / Seconds;
        public double OkPerSecond => Ok / Seconds;
        public double Percentile(double p) => Percentiles(LatenciesMs, p);
    }

    public static double Percentiles(List<double> samples, double p)
    {
        if (samples.Count == 0) return double.NaN;
        var sorted = samples.ToArray();
        Array.Sort(sorted);
        return sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
    }

    /// <summary>
    /// Closed loop: each connection keeps <paramref name="depth"/> requests in flight (a new one for every reply)
    /// for <paramref name="duration"/>.
    /// </summary>
    public static Result ClosedLoop(IPEndPoint server, byte[][] requests, int connections, int depth, TimeSpan duration)
    {
        var results = new Result[connections];
        var threads = new Thread[connections];
        for (int c = 0; c < connections; c++)
        {
            int id = c;
            threads[c] = new Thread(() => results[id] = RunClosed(server, requests, id, depth, duration)) { IsBackground = true };
            threads[c].Start();
        }
        foreach (var t in threads) t.Join();
        return Merge(results, duration.TotalSeconds);
    }

    private static Result RunClosed(IPEndPoint server, byte[][] requests, int seed, int depth, TimeSpan duration)
    {
        using var socket = Connect(server);
        var result = new Result();
        var sent = new long[depth];
        int head = 0, tail = 0, inFlight = 0, next = seed * 7919;
        var scanner = new ReplyScanner();
        var buffer = new byte[256 * 1024];
        var outgoing = new MemoryStream();
        long end = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        void Fill()
        {
            outgoing.SetLength(0);
            long now = Stopwatch.GetTimestamp();
            while (inFlight < depth && now < end)
            {
                var r = requests[next++ % requests.Length];
                outgoing.Write(r);
                sent[tail] = now;
                tail = (tail + 1) % depth;
                inFlight++;
            }
            if (outgoing.Length > 0) socket.Send(outgoing.GetBuffer().AsSpan(0, (int)outgoing.Length));
        }
        Fill();
        while (inFlight > 0)
        {
            int n = socket.Receive(buffer);
            if (n == 0) throw new IOException("server closed the connection");
            long now = Stopwatch.GetTimestamp();
            scanner.Feed(buffer.AsSpan(0, n), kind =>
            {
                Count(result, kind);
                result.LatenciesMs.Add((now - sent[head]) * 1000.0 / Stopwatch.Frequency);
                head = (head + 1) % depth;
                inFlight--;
            });
            Fill();
        }
        return result;
    }

    /// <summary>
    /// Open loop: requests are sent on a fixed schedule (<paramref name="ratePerSecond"/> over all connections)
    /// whatever the server does; latency counts from the scheduled time, so queueing anywhere is included.
    /// </summary>
    public static Result OpenLoop(IPEndPoint server, byte[][] requests, int connections, double ratePerSecond, TimeSpan duration)
    {
        var results = new Result[connections];
        var threads = new List<Thread>();
        for (int c = 0; c < connections; c++)
        {
            int id = c;
            var t = new Thread(() => results[id] = RunOpen(server, requests, id, ratePerSecond / connections, duration)) { IsBackground = true };
            t.Start();
            threads.Add(t);
        }
        foreach (var t in threads) t.Join();
        return Merge(results, duration.TotalSeconds);
    }

    private static Result RunOpen(IPEndPoint server, byte[][] requests, int seed, double rate, TimeSpan duration)
    {
        using var socket = Connect(server);
        var result = new Result();
        var scheduled = new Queue<long>();
        var gate = new object();
        long start = Stopwatch.GetTimestamp();
        long end = start + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        long issued = 0;
        bool sending = true;
        var sender = new Thread(() =>
        {
            var outgoing = new MemoryStream();
            int next = seed * 7919;
            while (true)
            {
                long now = Stopwatch.GetTimestamp();
                if (now >= end) break;
                long due = (long)((now - start) / (double)Stopwatch.Frequency * rate);
                outgoing.SetLength(0);
                lock (gate)
                {
                    for (; issued < due; issued++)
                    {
                        outgoing.Write(requests[next++ % requests.Length]);
                        scheduled.Enqueue(start + (long)(issued / rate * Stopwatch.Frequency));
                    }
                }
                if (outgoing.Length > 0) socket.Send(outgoing.GetBuffer().AsSpan(0, (int)outgoing.Length));
                Thread.Sleep(1);
            }
            lock (gate) sending = false;
        }) { IsBackground = true };
        sender.Start();
        var scanner = new ReplyScanner();
        var buffer = new byte[256 * 1024];
        socket.ReceiveTimeout = 30_000;
        while (true)
        {
            lock (gate)
                if (!sending && scheduled.Count == 0) break;
            if (socket.Available == 0 && !socket.Poll(10_000, SelectMode.SelectRead)) continue;
            int n = socket.Receive(buffer);
            if (n == 0) throw new IOException("server closed the connection");
            long now = Stopwatch.GetTimestamp();
            scanner.Feed(buffer.AsSpan(0, n), kind =>
            {
                long at;
                lock (gate) at = scheduled.Dequeue();
                Count(result, kind);
                if (kind == ReplyKind.Ok) result.LatenciesMs.Add((now - at) * 1000.0 / Stopwatch.Frequency);
            });
        }
        sender.Join();
        return result;
    }

    private static void Count(Result result, ReplyKind kind)
    {
        if (kind == ReplyKind.Ok) result.Ok++;
        else if (kind == ReplyKind.Busy) result.Busy++;
        else result.OtherErrors++;
    }

    private static Result Merge(Result[] parts, double seconds)
    {
        var all = new Result { Seconds = seconds };
        foreach (var p in parts)
        {
            all.Ok += p.Ok;
            all.Busy += p.Busy;
            all.OtherErrors += p.OtherErrors;
            all.LatenciesMs.AddRange(p.LatenciesMs);
        }
        return all;
    }

    private static Socket Connect(IPEndPoint server)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        socket.Connect(server);
        return socket;
    }
}

internal enum ReplyKind { Ok, Busy, Error }

/// <summary>
/// Finds where each top-level RESP reply ends without materialising it; bytes of an unfinished reply are kept for
/// the next feed.
/// </summary>
internal sealed class ReplyScanner
{
    private byte[] _pending = new byte[1 << 20];
    private int _length;

    public void Feed(ReadOnlySpan<byte> data, Action<ReplyKind> onReply)
    {
        if (_length + data.Length > _pending.Length) Array.Resize(ref _pending, Math.Max(_pending.Length * 2, _length + data.Length));
        data.CopyTo(_pending.AsSpan(_length));
        _length += data.Length;
        int pos = 0;
        while (pos < _length)
        {
            int start = pos;
            if (!TrySkip(_pending.AsSpan(0, _length), ref pos)) { pos = start; break; }
            var kind = _pending[start] != (byte)'-' ? ReplyKind.Ok
                : _pending.AsSpan(start + 1).StartsWith("BUSY"u8) ? ReplyKind.Busy : ReplyKind.Error;
            onReply(kind);
        }
        _pending.AsSpan(pos, _length - pos).CopyTo(_pending);
        _length -= pos;
    }

    /// <summary>Moves <paramref name="pos"/> past one whole reply; false when the buffer ends inside it.</summary>
    internal static bool TrySkip(ReadOnlySpan<byte> buffer, ref int pos)
    {
        if (pos >= buffer.Length) return false;
        byte type = buffer[pos];
        int lineEnd = buffer[pos..].IndexOf("\r\n"u8);
        if (lineEnd < 0) return false;
        long n = 0;
        bool negative = false;
        foreach (byte b in buffer.Slice(pos + 1, lineEnd - 1))
        {
            if (b == (byte)'-') negative = true;
            else if (b is >= (byte)'0' and <= (byte)'9') n = n * 10 + (b - '0');
        }
        if (negative) n = -n;
        pos += lineEnd + 2;
        switch (type)
        {
            case (byte)'$':
            case (byte)'=':
            case (byte)'!':
                if (n < 0) return true;
                if (buffer.Length - pos < n + 2) return false;
                pos += (int)n + 2;
                return true;
            case (byte)'*':
            case (byte)'%':
            case (byte)'~':
            case (byte)'>':
                if (n < 0) return true;
                long count = type == (byte)'%' ? n * 2 : n;
                for (long i = 0; i < count; i++)
                    if (!TrySkip(buffer, ref pos)) return false;
                return true;
            default:
                return true;
        }
    }
}
