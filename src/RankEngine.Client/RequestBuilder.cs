using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace RankEngine.Client;

/// <summary>
/// Encodes one request (an array of bulk strings) into a pooled buffer; the client copies it into the connection's
/// outgoing batch. Numbers are written in invariant culture, floats as their shortest round-trip text.
/// </summary>
internal struct RequestBuilder : IDisposable
{
    private byte[] _buffer;
    private int _length;

    public RequestBuilder(string verb)
    {
        _buffer = ArrayPool<byte>.Shared.Rent(256);
        _length = 0;
        Count = 0;
        Add(verb);
    }

    /// <summary>Arguments so far, the verb included.</summary>
    public int Count { get; private set; }

    public void Add(string value)
    {
        int bytes = Encoding.UTF8.GetByteCount(value);
        var dest = Begin(bytes);
        Encoding.UTF8.GetBytes(value, dest);
        End(bytes);
    }

    public void Add(scoped ReadOnlySpan<byte> value)
    {
        value.CopyTo(Begin(value.Length));
        End(value.Length);
    }

    public void Add(long value) => Add(value.ToString(CultureInfo.InvariantCulture));

    public void Add(float value) => Add(value.ToString("R", CultureInfo.InvariantCulture));

    public void Add(double value) => Add(value.ToString("R", CultureInfo.InvariantCulture));

    /// <summary>A vector as little-endian float32 bytes.</summary>
    public void AddVector(ReadOnlySpan<float> vector)
    {
        var dest = Begin(vector.Length * sizeof(float));
        for (int i = 0; i < vector.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(dest[(i * 4)..], vector[i]);
        End(vector.Length * sizeof(float));
    }

    private Span<byte> Begin(int bytes)
    {
        Ensure(bytes + 24);
        _buffer[_length++] = (byte)'$';
        bytes.TryFormat(_buffer.AsSpan(_length), out int n, default, CultureInfo.InvariantCulture);
        _length += n;
        _buffer[_length++] = (byte)'\r';
        _buffer[_length++] = (byte)'\n';
        return _buffer.AsSpan(_length, bytes);
    }

    private void End(int bytes)
    {
        _length += bytes;
        _buffer[_length++] = (byte)'\r';
        _buffer[_length++] = (byte)'\n';
        Count++;
    }

    private void Ensure(int more)
    {
        if (_buffer.Length - _length >= more) return;
        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _length + more));
        _buffer.AsSpan(0, _length).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = bigger;
    }

    /// <summary>Writes the whole frame (<c>*n</c> header and arguments).</summary>
    public readonly void WriteTo(IBufferWriter<byte> output)
    {
        Span<byte> header = stackalloc byte[16];
        header[0] = (byte)'*';
        Count.TryFormat(header[1..], out int n, default, CultureInfo.InvariantCulture);
        header[1 + n] = (byte)'\r';
        header[2 + n] = (byte)'\n';
        output.Write(header[..(n + 3)]);
        output.Write(_buffer.AsSpan(0, _length));
    }

    public void Dispose()
    {
        if (_buffer is null) return;
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = null!;
    }
}
