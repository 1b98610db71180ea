using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using RankEngine.Server.Resp.Parser;

namespace RankEngine.Server.Resp;

/// <summary>
/// Redis commands that stock clients send during their handshake or for pipelines and transactions: ECHO, SELECT,
/// CLIENT, MULTI/EXEC/DISCARD, CONFIG GET, DBSIZE. Each does what Redis does where RankEngine has the concept, and
/// answers a clear error where it does not (other databases, CONFIG SET, CLIENT KILL…).
/// </summary>
internal sealed partial class RespSession
{
    // A transaction is bounded like a connection's buffers: it cannot hold more than a few maximal frames.
    private const int MaxQueuedCommands = 4096;

    private List<QueuedCommand>? _multi;
    private bool _multiDirty;
    private long _multiBytes;
    private string? _libName, _libVersion;
    private RespCommand _lastCommand;
    private readonly long _createdAt = Stopwatch.GetTimestamp();
    private long _lastCommandAt = Stopwatch.GetTimestamp();

    /// <summary>The client's address (CLIENT INFO/LIST); null for sessions over bare pipes.</summary>
    public EndPoint? RemoteEndPoint { get; init; }

    /// <summary>The server address this client connected to.</summary>
    public EndPoint? LocalEndPoint { get; init; }

    /// <summary>A command waiting for EXEC: its arguments copied out of the receive buffer.</summary>
    private sealed class QueuedCommand(RespCommand command, byte[] data, ArgumentSlots slots, int count)
    {
        public RespCommand Command { get; } = command;
        public byte[] Data { get; } = data;
        public ArgumentSlots Slots { get; } = slots;
        public int Count { get; } = count;
    }

    private void NetworkEcho(in ParseState args, ref RespWriter writer) => writer.WriteBulk(args[1]);

    /// <summary>SELECT 0 is accepted (the only database); any other index is an error, as on a Redis with one database.</summary>
    private static void NetworkSelect(in ParseState args, ref RespWriter writer)
    {
        int index = Args.Int(args[1], "database index");
        if (index != 0) throw new RespCommandException(ErrorCode.Err, $"DB index is out of range: RankEngine has one database, 0 (got {index})");
        writer.WriteOk();
    }

    /// <summary>DBSIZE: the number of items in the catalog.</summary>
    private void NetworkDbSize(ref RespWriter writer) => writer.WriteInteger(_engine.ItemCount);

    private void NetworkClient(in ParseState args, ref RespWriter writer)
    {
        var sub = args[1];
        if (Args.Is(sub, "SETNAME"u8))
        {
            Arity(args, 3, "CLIENT SETNAME");
            var name = args[2];
            foreach (byte b in name)
                if (b is < (byte)'!' or > (byte)'~')
                    throw new RespCommandException(ErrorCode.Err, "Client names cannot contain spaces, newlines or special characters.");
            _clientName = name.IsEmpty ? null : Args.Text(name, "client name", 256);
            writer.WriteOk();
        }
        else if (Args.Is(sub, "GETNAME"u8))
        {
            Arity(args, 2, "CLIENT GETNAME");
            writer.WriteBulkOrNull(_clientName);
        }
        else if (Args.Is(sub, "SETINFO"u8))
        {
            Arity(args, 4, "CLIENT SETINFO");
            string value = Args.Text(args[3], "client info value", 256);
            if (value.Contains(' ') || value.Contains('\n'))
                throw new RespCommandException(ErrorCode.Err, "CLIENT SETINFO values cannot contain spaces or newlines");
            if (Args.Is(args[2], "LIB-NAME"u8)) _libName = value;
            else if (Args.Is(args[2], "LIB-VER"u8)) _libVersion = value;
            else throw new RespCommandException(ErrorCode.Err, $"Unrecognized option '{Args.Preview(args[2])}' (LIB-NAME or LIB-VER)");
            writer.WriteOk();
        }
        else if (Args.Is(sub, "ID"u8))
        {
            Arity(args, 2, "CLIENT ID");
            writer.WriteInteger(Id);
        }
        else if (Args.Is(sub, "INFO"u8))
        {
            Arity(args, 2, "CLIENT INFO");
            writer.WriteBulk(DescribeClient());
        }
        else if (Args.Is(sub, "LIST"u8))
        {
            // CLIENT LIST [TYPE normal] [ID id …]: every client is a normal one here.
            HashSet<long>? ids = null;
            for (int i = 2; i < args.Count; i++)
            {
                if (Args.Is(args[i], "TYPE"u8) && i + 1 < args.Count)
                {
                    if (!Args.Is(args[++i], "NORMAL"u8)) ids = [];
                }
                else if (Args.Is(args[i], "ID"u8) && i + 1 < args.Count)
                {
                    ids ??= [];
                    while (++i < args.Count) ids.Add(Args.Long(args[i], "client id"));
                }
                else throw new RespCommandException(ErrorCode.Err, $"CLIENT LIST: unknown option '{Args.Preview(args[i])}' (TYPE normal, ID id…)");
            }
            var sb = new StringBuilder();
            foreach (var session in _state.Clients.Snapshot())
                if (ids is null || ids.Contains(session.Id)) sb.Append(session.DescribeClient());
            writer.WriteBulk(sb.ToString());
        }
        else
        {
            throw new RespCommandException(ErrorCode.Err,
                $"unknown subcommand '{Args.Preview(sub)}': RankEngine supports CLIENT SETNAME, GETNAME, SETINFO, ID, INFO, LIST");
        }
    }

    private static void Arity(in ParseState args, int count, string name)
    {
        if (args.Count != count) throw new RespCommandException(ErrorCode.Err, $"wrong number of arguments for '{name.ToLowerInvariant()}' command");
    }

    /// <summary>One CLIENT LIST line: the fields Redis prints that RankEngine tracks.</summary>
    internal string DescribeClient()
    {
        long now = Stopwatch.GetTimestamp();
        var inv = CultureInfo.InvariantCulture;
        return string.Create(inv,
            $"id={Id} addr={RemoteEndPoint?.ToString() ?? "-"} laddr={LocalEndPoint?.ToString() ?? "-"} name={_clientName} " +
            $"age={(now - _createdAt) / Stopwatch.Frequency} idle={(now - Volatile.Read(ref _lastCommandAt)) / Stopwatch.Frequency} " +
            $"flags={(_multi is null ? "N" : "x")} db=0 sub=0 psub=0 multi={(_multi is null ? -1 : _multi.Count)} " +
            $"cmd={CommandTable.Name(_lastCommand)} user=default resp={(_resp3 ? 3 : 2)} lib-name={_libName} lib-ver={_libVersion}\n");
    }

    /// <summary>CONFIG GET pattern [pattern …]: the settings clients and redis-benchmark probe, read-only.</summary>
    private void NetworkConfig(in ParseState args, ref RespWriter writer)
    {
        if (!Args.Is(args[1], "GET"u8))
        {
            if (Args.Is(args[1], "SET"u8))
                throw new RespCommandException(ErrorCode.Err, "CONFIG SET is not supported: settings are read at start-up (appsettings.json, RANKENGINE__ variables, command line)");
            throw new RespCommandException(ErrorCode.Err, $"unknown subcommand '{Args.Preview(args[1])}': RankEngine supports CONFIG GET");
        }
        if (args.Count < 3) throw new RespCommandException(ErrorCode.Err, "wrong number of arguments for 'config|get' command");
        var parameters = ConfigParameters();
        Span<bool> matched = stackalloc bool[parameters.Length];
        int pairs = 0;
        for (int a = 2; a < args.Count; a++)
            for (int p = 0; p < parameters.Length; p++)
                if (!matched[p] && Glob.Match(args[a], parameters[p].Name))
                {
                    matched[p] = true;
                    pairs++;
                }
        writer.WriteMapHeader(pairs);
        for (int p = 0; p < parameters.Length; p++)
        {
            if (!matched[p]) continue;
            writer.WriteBulk(parameters[p].Name);
            writer.WriteBulk(parameters[p].Value);
        }
    }

    private (string Name, string Value)[] ConfigParameters()
    {
        var options = _state.Options;
        var inv = CultureInfo.InvariantCulture;
        return
        [
            ("bind", options.BindAddress.ToString()),
            ("port", (_state.RespEndPoint?.Port ?? options.Port).ToString(inv)),
            ("databases", "1"),
            ("maxclients", options.Limits.MaxConnections.ToString(inv)),
            ("proto-max-bulk-len", options.Limits.MaxArgumentBytes.ToString(inv)),
            // Every acknowledged write is in the committed log first: Redis's appendonly with appendfsync always.
            ("appendonly", "yes"),
            ("appendfsync", "always"),
            // No RDB snapshots; checkpoints of the store are periodic and on SAVE.
            ("save", ""),
            // Redis's timeout: seconds a client may stay idle before it is closed (0: never), here IdleTimeout.
            ("timeout", ((long)options.Limits.IdleTimeout.TotalSeconds).ToString(inv)),
            ("maxmemory", "0"),
            ("cluster-enabled", "no"),
            ("replica-read-only", "yes"),
            ("slave-read-only", "yes"),
        ];
    }

    /// <summary>MULTI: from now on commands are queued (answered +QUEUED) until EXEC or DISCARD.</summary>
    private void NetworkMulti(ref RespWriter writer)
    {
        if (_multi is not null) throw new RespCommandException(ErrorCode.Err, "MULTI calls can not be nested");
        _multi = [];
        _multiDirty = false;
        _multiBytes = 0;
        writer.WriteOk();
    }

    private void NetworkDiscard(ref RespWriter writer)
    {
        if (_multi is null) throw new RespCommandException(ErrorCode.Err, "DISCARD without MULTI");
        _multi = null;
        writer.WriteOk();
    }

    /// <summary>Inside MULTI: a command refused while queuing (unknown, wrong arity, NOAUTH) makes EXEC abort.</summary>
    private void FlagTransaction()
    {
        if (_multi is not null) _multiDirty = true;
    }

    /// <summary>True when EXEC will run engine commands (then it takes one engine slot for all of them).</summary>
    private bool TransactionUsesEngine()
    {
        if (_multi is null || _multiDirty) return false;
        foreach (var q in _multi)
            if (CommandTable.UsesEngine(q.Command)) return true;
        return false;
    }

    /// <summary>Copies the request out of the receive buffer onto the transaction's queue.</summary>
    private void Enqueue(RespCommand command, in ParseState args, ref RespWriter writer)
    {
        int total = 0;
        for (int i = 0; i < args.Count; i++) total += args[i].Length;
        if (_multi!.Count >= MaxQueuedCommands || _multiBytes + total > 4L * _limits.MaxFrameBytes)
        {
            _multiDirty = true;
            throw new RespCommandException(ErrorCode.TooLarge,
                $"transaction too large (at most {MaxQueuedCommands} commands and {4L * _limits.MaxFrameBytes} bytes); EXEC will abort");
        }
        var data = new byte[total];
        var slots = new ArgumentSlots();
        slots.EnsureCapacity(args.Count);
        int at = 0;
        for (int i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            arg.CopyTo(data.AsSpan(at));
            slots.Starts[i] = at;
            slots.Lengths[i] = arg.Length;
            at += arg.Length;
        }
        _multi.Add(new QueuedCommand(command, data, slots, args.Count));
        _multiBytes += total;
        writer.WriteSimpleString("QUEUED"u8);
    }

    /// <summary>
    /// EXEC: runs the queued commands in order, one reply each in one array. They run back to back on this
    /// connection under one engine slot; each write is committed to the log before the next command starts, so the
    /// array arrives only once all of them are durable. A failing command is an error element; the others still run
    /// (as in Redis, there is no rollback).
    /// </summary>
    private void NetworkExec(ref RespWriter writer)
    {
        if (_multi is null) throw new RespCommandException(ErrorCode.Err, "EXEC without MULTI");
        var queued = _multi;
        bool dirty = _multiDirty;
        _multi = null;
        _multiDirty = false;
        if (dirty) throw new RespCommandException(ErrorCode.ExecAbort, "Transaction discarded because of previous errors.");
        writer.WriteArrayHeader(queued.Count);
        foreach (var q in queued)
        {
            long start = Stopwatch.GetTimestamp();
            var args = new ParseState(q.Data, q.Slots, q.Count);
            RunHandler(q.Command, args, ref writer);
            _state.Metrics.Request(q.Command, Stopwatch.GetTimestamp() - start);
        }
    }

    /// <summary>Redis's glob (<c>*</c>, <c>?</c>, <c>[abc]</c>, <c>[a-z]</c>, <c>[^a]</c>, <c>\x</c>), case-insensitive, over ASCII names.</summary>
    internal static class Glob
    {
        public static bool Match(ReadOnlySpan<byte> pattern, string name)
        {
            Span<byte> text = stackalloc byte[64];
            int n = Encoding.ASCII.GetBytes(name, text);
            return Match(pattern, text[..n]);
        }

        private static byte Lower(byte b) => b is >= (byte)'A' and <= (byte)'Z' ? (byte)(b + 32) : b;

        public static bool Match(ReadOnlySpan<byte> p, ReadOnlySpan<byte> s)
        {
            while (p.Length > 0)
            {
                switch (p[0])
                {
                    case (byte)'*':
                        while (p.Length > 1 && p[1] == '*') p = p[1..];
                        if (p.Length == 1) return true;
                        for (int i = 0; i <= s.Length; i++)
                            if (Match(p[1..], s[i..])) return true;
                        return false;
                    case (byte)'?':
                        if (s.IsEmpty) return false;
                        s = s[1..];
                        p = p[1..];
                        break;
                    case (byte)'[':
                    {
                        if (s.IsEmpty) return false;
                        int i = 1;
                        bool negate = i < p.Length && p[i] == '^';
                        if (negate) i++;
                        bool hit = false;
                        while (i < p.Length && p[i] != ']')
                        {
                            if (p[i] == '\\' && i + 1 < p.Length)
                            {
                                i++;
                                if (Lower(p[i]) == Lower(s[0])) hit = true;
                                i++;
                            }
                            else if (i + 2 < p.Length && p[i + 1] == '-' && p[i + 2] != ']')
                            {
                                byte lo = Lower(p[i]), hi = Lower(p[i + 2]);
                                if (lo > hi) (lo, hi) = (hi, lo);
                                byte c = Lower(s[0]);
                                if (c >= lo && c <= hi) hit = true;
                                i += 3;
                            }
                            else
                            {
                                if (Lower(p[i]) == Lower(s[0])) hit = true;
                                i++;
                            }
                        }
                        if (hit == negate) return false;
                        p = i < p.Length ? p[(i + 1)..] : p[i..];
                        s = s[1..];
                        break;
                    }
                    case (byte)'\\' when p.Length > 1:
                        if (s.IsEmpty || Lower(p[1]) != Lower(s[0])) return false;
                        p = p[2..];
                        s = s[1..];
                        break;
                    default:
                        if (s.IsEmpty || Lower(p[0]) != Lower(s[0])) return false;
                        p = p[1..];
                        s = s[1..];
                        break;
                }
            }
            return s.IsEmpty;
        }
    }
}

/// <summary>The open sessions, for CLIENT LIST.</summary>
internal sealed class ClientRegistry
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<long, RespSession> _sessions = new();

    public void Add(RespSession session) => _sessions[session.Id] = session;

    public void Remove(RespSession session) => _sessions.TryRemove(session.Id, out _);

    /// <summary>The sessions ordered by id (as Redis lists them).</summary>
    public List<RespSession> Snapshot()
    {
        var list = new List<RespSession>(_sessions.Values);
        list.Sort((a, b) => a.Id.CompareTo(b.Id));
        return list;
    }
}
