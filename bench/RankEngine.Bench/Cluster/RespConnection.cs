using System.Net;
using System.Net.Sockets;
using System.Text;

namespace RankEngine.Bench.Cluster;

/// <summary>
/// One blocking RESP connection for the cluster benchmark: requests written as pre-encoded frames, replies read back
/// whole (their raw bytes), so callers can time them, tell errors from answers and compare replies byte for byte.
/// </summary>
internal sealed class RespConnection : IDisposable
{
    private readonly Socket _socket;
    private byte[] _buffer = new byte[1 << 16];
    private int _start, _end;

    public RespConnection(int port, string host = "127.0.0.1")
    {
        _socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        _socket.Connect(new IPEndPoint(IPAddress.Parse(host), port));
    }

    public void Send(ReadOnlySpan<byte> frame)
    {
        while (!frame.IsEmpty)
        {
            int n = _socket.Send(frame);
            frame = frame[n..];
        }
    }

    /// <summary>The next whole reply's bytes (a copy).</summary>
    public byte[] ReadReply()
    {
        while (true)
        {
            int pos = _start;
            if (Server.ReplyScanner.TrySkip(_buffer.AsSpan(0, _end), ref pos))
            {
                var reply = _buffer.AsSpan(_start, pos - _start).ToArray();
                _start = pos;
                if (_start == _end) _start = _end = 0;
                return reply;
            }
            if (_start > 0)
            {
                _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
                _end -= _start;
                _start = 0;
            }
            if (_end == _buffer.Length) Array.Resize(ref _buffer, _buffer.Length * 2);
            int got = _socket.Receive(_buffer, _end, _buffer.Length - _end, SocketFlags.None);
            if (got == 0) throw new IOException("the server closed the connection");
            _end += got;
        }
    }

    /// <summary>Sends one request and returns its reply.</summary>
    public byte[] Call(params string[] args)
    {
        Send(Frame(args));
        return ReadReply();
    }

    public void Dispose() => _socket.Dispose();

    /// <summary>A RESP array of bulk strings.</summary>
    public static byte[] Frame(params string[] args) => Frame(args.Select(a => (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes(a)).ToArray());

    public static byte[] Frame(ReadOnlyMemory<byte>[] args)
    {
        var ms = new MemoryStream();
        void Line(string s) => ms.Write(Encoding.ASCII.GetBytes(s));
        Line($"*{args.Length}\r\n");
        foreach (var a in args)
        {
            Line($"${a.Length}\r\n");
            ms.Write(a.Span);
            Line("\r\n");
        }
        return ms.ToArray();
    }

    public static bool IsError(byte[] reply) => reply.Length > 0 && reply[0] == (byte)'-';

    public static bool IsBusy(byte[] reply) => reply.AsSpan().StartsWith("-BUSY"u8);

    /// <summary>The first line of a reply without its type byte (an error's message, a status).</summary>
    public static string FirstLine(byte[] reply)
    {
        int end = reply.AsSpan().IndexOf("\r\n"u8);
        return Encoding.UTF8.GetString(reply, 1, (end < 0 ? reply.Length : end) - 1);
    }
}
