using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Hosting;
using RankEngine.Client;
using RankEngine.Server;
using RankEngine.Server.Hosting;
using RankEngine.Store;
using RankEngine.Tests.Support;
using Xunit;

namespace RankEngine.Tests.Server;

/// <summary>
/// A real server in-process: a fresh data directory, an engine (vectors only, or with a model), and the generic host
/// listening on ephemeral loopback ports (protocol and HTTP). Dispose stops the host, then the engine.
/// </summary>
public sealed class ServerHarness : IAsyncDisposable
{
    /// <summary>Float32 little-endian bytes of a vector, as ITEM.ADDVEC and ENCODE's BLOB format carry them.</summary>
    public static byte[] Blob(params float[] v) => System.Runtime.InteropServices.MemoryMarshal.AsBytes(v.AsSpan()).ToArray();

    private readonly TempDir _dir;

    private ServerHarness(TempDir dir, RankingEngine engine, IHost host)
    {
        _dir = dir;
        Engine = engine;
        Host = host;
    }

    public RankingEngine Engine { get; }
    public IHost Host { get; }
    public RankServerState State => Host.ServerState();
    public IPEndPoint EndPoint => State.RespEndPoint!;
    public IPEndPoint HttpEndPoint => State.HttpEndPoint!;

    /// <summary>Starts a server; <paramref name="configure"/> adjusts the options (ports are always ephemeral).</summary>
    public static async Task<ServerHarness> StartAsync(int contentDim = 4, int collabDim = 2, string? modelPath = null,
        Func<RankServerOptions, RankServerOptions>? configure = null, CatalogQuantization quantization = CatalogQuantization.None)
    {
        var dir = new TempDir();
        var engine = RankingEngine.Open(new RankingEngineOptions
        {
            DataDirectory = dir.Path,
            ContentDimension = modelPath is null ? contentDim : 0,
            CollabDimension = collabDim,
            ModelPath = modelPath,
            Backend = "simd",
            CheckpointInterval = null,
            Quantization = quantization,
        });
        var options = new RankServerOptions { Port = 0, HttpPort = 0, ModelName = modelPath is null ? null : Path.GetFileName(modelPath) };
        if (configure is not null) options = configure(options) with { Port = 0, HttpPort = options.HttpPort is null ? null : 0 };
        var host = RankServerHost.Build(engine, options);
        await host.StartAsync();
        return new ServerHarness(dir, engine, host);
    }

    public Task<RankEngineClient> ConnectAsync(string? token = null) =>
        RankEngineClient.ConnectAsync(EndPoint, new RankEngineClientOptions { AuthToken = token });

    public async Task<RawConnection> RawAsync()
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(EndPoint);
        return new RawConnection(socket);
    }

    /// <summary>The small hand-made catalog most protocol tests use: 4-d content, 2-d collab, a number, a string and a tags field.</summary>
    public void AddSmallCatalog()
    {
        ItemInput Item(string id, float[] v, float[] c, double popularity, string genre, params string[] tags) => new(id)
        {
            ContentVector = v,
            CollabVector = c,
            Text = $"item {id}",
            Fields = new Dictionary<string, FieldValue>
            {
                ["popularity"] = FieldValue.Num(popularity),
                ["genre"] = FieldValue.String(genre),
                ["tags"] = FieldValue.Tags(tags),
            },
        };
        Engine.AddItems(new[]
        {
            Item("a", [1, 0, 0, 0], [1, 0], 10, "drama", "old", "long"),
            Item("b", [0.9f, 0.1f, 0, 0], [1, 0.2f], 50, "drama", "new"),
            Item("c", [0, 1, 0, 0], [0, 1], 20, "comedy", "new", "short"),
            Item("d", [0, 0.9f, 0.1f, 0], [0.1f, 1], 5, "comedy"),
            Item("e", [0, 0, 0, 1], [0.5f, 0.5f], 99, "horror", "old"),
        });
    }

    public async ValueTask DisposeAsync()
    {
        await Host.StopAsync();
        Host.Dispose();
        Engine.Dispose();
        _dir.Dispose();
    }
}

/// <summary>A raw socket to the server: send exact bytes, read exact bytes (with a timeout so a test never hangs).</summary>
public sealed class RawConnection : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly Socket _socket;
    private readonly List<byte> _buffered = new();

    public RawConnection(Socket socket) => _socket = socket;

    public Task SendAsync(string text) => SendAsync(Encoding.UTF8.GetBytes(text));

    public async Task SendAsync(byte[] bytes) => await _socket.SendAsync(bytes, SocketFlags.None);

    /// <summary>A request as RESP: an array of bulk strings.</summary>
    public static byte[] Command(params object[] args)
    {
        var ms = new MemoryStream();
        void W(string s) => ms.Write(Encoding.UTF8.GetBytes(s));
        W($"*{args.Length}\r\n");
        foreach (var a in args)
        {
            byte[] b = a as byte[] ?? Encoding.UTF8.GetBytes(Convert.ToString(a, System.Globalization.CultureInfo.InvariantCulture)!);
            W($"${b.Length}\r\n");
            ms.Write(b);
            W("\r\n");
        }
        return ms.ToArray();
    }

    public Task SendCommandAsync(params object[] args) => SendAsync(Command(args));

    /// <summary>Reads exactly <paramref name="count"/> bytes.</summary>
    public async Task<byte[]> ReadExactAsync(int count)
    {
        using var cts = new CancellationTokenSource(Timeout);
        var chunk = new byte[65536];
        while (_buffered.Count < count)
        {
            int n = await _socket.ReceiveAsync(chunk, SocketFlags.None, cts.Token);
            if (n == 0) throw new EndOfStreamException($"connection closed after {_buffered.Count} of {count} bytes: '{Encoding.UTF8.GetString(_buffered.ToArray())}'");
            _buffered.AddRange(chunk.AsSpan(0, n));
        }
        var result = _buffered.GetRange(0, count).ToArray();
        _buffered.RemoveRange(0, count);
        return result;
    }

    /// <summary>
    /// Reads exactly one complete reply, of any RESP2 or RESP3 type (simple <c>+ - : , _ # (</c>, blob <c>$ ! =</c>,
    /// aggregate <c>* ~ &gt; % |</c>, nested to any depth), and returns its bytes as sent.
    /// </summary>
    public async Task<byte[]> ReadReplyAsync()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var chunk = new byte[65536];
        while (true)
        {
            int end = ReplyEnd(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_buffered), 0);
            if (end >= 0)
            {
                var reply = _buffered.GetRange(0, end).ToArray();
                _buffered.RemoveRange(0, end);
                return reply;
            }
            int n = await _socket.ReceiveAsync(chunk, SocketFlags.None, cts.Token);
            if (n == 0) throw new EndOfStreamException($"connection closed inside a reply; buffered '{Encoding.UTF8.GetString(_buffered.ToArray())}'");
            _buffered.AddRange(chunk.AsSpan(0, n));
        }
    }

    /// <summary>Where the reply starting at <paramref name="start"/> ends, or -1 when more bytes are needed.</summary>
    /// <exception cref="InvalidDataException">The bytes are not RESP.</exception>
    internal static int ReplyEnd(ReadOnlySpan<byte> bytes, int start)
    {
        if (start >= bytes.Length) return -1;
        int crlf = bytes[start..].IndexOf("\r\n"u8);
        if (crlf < 0) return -1;
        int next = start + crlf + 2;
        var header = bytes.Slice(start + 1, crlf - 1);
        byte type = bytes[start];
        switch (type)
        {
            case (byte)'+' or (byte)'-' or (byte)':' or (byte)',' or (byte)'_' or (byte)'#' or (byte)'(':
                return next;
            case (byte)'$' or (byte)'!' or (byte)'=':
            {
                long length = Length(header, type);
                if (length < 0) return next; // $-1: the RESP2 null
                if (bytes.Length < next + length + 2) return -1;
                if (bytes[next + (int)length] != '\r' || bytes[next + (int)length + 1] != '\n')
                    throw new InvalidDataException($"a '{(char)type}' blob of {length} bytes is not followed by CRLF");
                return next + (int)length + 2;
            }
            case (byte)'*' or (byte)'~' or (byte)'>' or (byte)'%' or (byte)'|':
            {
                long count = Length(header, type);
                if (count < 0) return next; // *-1: the RESP2 null array
                long elements = type is (byte)'%' or (byte)'|' ? 2 * count : count;
                int at = next;
                for (long i = 0; i < elements; i++)
                    if ((at = ReplyEnd(bytes, at)) < 0) return -1;
                // An attribute map annotates the reply that follows it: both together are one reply.
                return type == (byte)'|' ? ReplyEnd(bytes, at) : at;
            }
            default:
                throw new InvalidDataException($"not a RESP reply type: 0x{type:x2} at byte {start}");
        }
    }

    private static long Length(ReadOnlySpan<byte> header, byte type) =>
        long.TryParse(header, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out long n) && n >= -1
            ? n : throw new InvalidDataException($"bad '{(char)type}' length '{Encoding.ASCII.GetString(header)}'");

    /// <summary>Asserts the next bytes are exactly <paramref name="expected"/>.</summary>
    public async Task ExpectAsync(string expected)
    {
        var got = await ReadExactAsync(Encoding.UTF8.GetByteCount(expected));
        Assert.Equal(expected, Encoding.UTF8.GetString(got));
    }

    /// <summary>Reads one line (up to CRLF, excluded).</summary>
    public async Task<string> ReadLineAsync()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var chunk = new byte[65536];
        while (true)
        {
            for (int i = 0; i + 1 < _buffered.Count; i++)
                if (_buffered[i] == '\r' && _buffered[i + 1] == '\n')
                {
                    var line = Encoding.UTF8.GetString(_buffered.GetRange(0, i).ToArray());
                    _buffered.RemoveRange(0, i + 2);
                    return line;
                }
            int n = await _socket.ReceiveAsync(chunk, SocketFlags.None, cts.Token);
            if (n == 0) throw new EndOfStreamException($"connection closed; buffered '{Encoding.UTF8.GetString(_buffered.ToArray())}'");
            _buffered.AddRange(chunk.AsSpan(0, n));
        }
    }

    /// <summary>Reads an error line and asserts its code word.</summary>
    public async Task<string> ExpectErrorAsync(string code)
    {
        string line = await ReadLineAsync();
        Assert.StartsWith("-" + code + " ", line);
        return line;
    }

    /// <summary>True when the server closed the connection (reads to end, within the timeout).</summary>
    public async Task<bool> IsClosedAsync()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var chunk = new byte[4096];
        try
        {
            while (true)
            {
                int n = await _socket.ReceiveAsync(chunk, SocketFlags.None, cts.Token);
                if (n == 0) return true;
            }
        }
        catch (SocketException)
        {
            return true;
        }
    }

    public void Dispose() => _socket.Dispose();
}
