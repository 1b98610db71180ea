using System.Buffers;
using System.Globalization;
using System.Text;

namespace RankEngine.Server.Resp;

/// <summary>
/// Writes RESP replies straight into the connection's send buffer (an <see cref="IBufferWriter{T}"/>, the output
/// pipe): it holds one span of the pipe's memory and advances the pipe only when that span is full or on
/// <see cref="Commit"/>, so a reply costs no allocation and no copy. RESP3 types (maps, doubles, null) are written
/// as their RESP2 equivalents unless <see cref="Resp3"/> is set (after <c>HELLO 3</c>).
/// </summary>
internal ref struct RespWriter
{
    private const int ChunkBytes = 4096;
    private readonly IBufferWriter<byte> _output;
    private Span<byte> _span;
    private int _pos;
    private long _committed;

    public RespWriter(IBufferWriter<byte> output, bool resp3)
    {
        _output = output;
        Resp3 = resp3;
    }

    /// <summary>Whether RESP3 types are used.</summary>
    public bool Resp3 { get; set; }

    /// <summary>Bytes written since this writer was created.</summary>
    public readonly long BytesWritten => _committed + _pos;

    /// <summary>Hands everything written so far to the output (before it is flushed).</summary>
    public void Commit()
    {
        if (_pos > 0) _output.Advance(_pos);
        _committed += _pos;
        _pos = 0;
        _span = default;
    }

    private Span<byte> Reserve(int bytes)
    {
        if (_span.Length - _pos < bytes)
        {
            if (_pos > 0) _output.Advance(_pos);
            _committed += _pos;
            _pos = 0;
            _span = _output.GetSpan(Math.Max(bytes, ChunkBytes));
        }
        return _span[_pos..];
    }

    public void WriteRaw(scoped ReadOnlySpan<byte> bytes)
    {
        while (bytes.Length > 0)
        {
            var dest = Reserve(Math.Min(bytes.Length, ChunkBytes));
            int n = Math.Min(dest.Length, bytes.Length);
            bytes[..n].CopyTo(dest);
            _pos += n;
            bytes = bytes[n..];
        }
    }

    private void WriteHeader(byte prefix, long value)
    {
        var dest = Reserve(24);
        dest[0] = prefix;
        value.TryFormat(dest[1..], out int n, default, CultureInfo.InvariantCulture);
        dest[1 + n] = (byte)'\r';
        dest[2 + n] = (byte)'\n';
        _pos += 3 + n;
    }

    public void WriteSimpleString(scoped ReadOnlySpan<byte> text)
    {
        WriteRaw("+"u8);
        WriteRaw(text);
        WriteRaw(CmdStrings.Crlf);
    }

    public void WriteOk() => WriteRaw(CmdStrings.Ok);

    /// <summary><c>-CODE message</c>; CR and LF in the message become spaces (an error is one line).</summary>
    public void WriteError(ErrorCode code, string message)
    {
        WriteRaw("-"u8);
        WriteRaw(ErrorCodes.WordUtf8(code));
        WriteRaw(" "u8);
        int max = Encoding.UTF8.GetMaxByteCount(message.Length);
        var dest = Reserve(max + 2);
        int n = Encoding.UTF8.GetBytes(message, dest);
        for (int i = 0; i < n; i++)
            if (dest[i] is (byte)'\r' or (byte)'\n') dest[i] = (byte)' ';
        dest[n] = (byte)'\r';
        dest[n + 1] = (byte)'\n';
        _pos += n + 2;
    }

    public void WriteInteger(long value) => WriteHeader((byte)':', value);

    public void WriteArrayHeader(int count) => WriteHeader((byte)'*', count);

    /// <summary>A map of <paramref name="pairs"/> entries: <c>%n</c> in RESP3, a flat array of 2n in RESP2.</summary>
    public void WriteMapHeader(int pairs)
    {
        if (Resp3) WriteHeader((byte)'%', pairs);
        else WriteHeader((byte)'*', 2L * pairs);
    }

    public void WriteNull() => WriteRaw(Resp3 ? CmdStrings.Null3 : CmdStrings.NullBulk2);

    public void WriteBulk(scoped ReadOnlySpan<byte> value)
    {
        WriteHeader((byte)'$', value.Length);
        WriteRaw(value);
        WriteRaw(CmdStrings.Crlf);
    }

    public void WriteBulk(string value)
    {
        int bytes = Encoding.UTF8.GetByteCount(value);
        WriteHeader((byte)'$', bytes);
        if (bytes <= ChunkBytes * 4)
        {
            var dest = Reserve(bytes + 2);
            Encoding.UTF8.GetBytes(value, dest);
            dest[bytes] = (byte)'\r';
            dest[bytes + 1] = (byte)'\n';
            _pos += bytes + 2;
        }
        else
        {
            WriteRaw(Encoding.UTF8.GetBytes(value));
            WriteRaw(CmdStrings.Crlf);
        }
    }

    public void WriteBulkOrNull(string? value)
    {
        if (value is null) WriteNull();
        else WriteBulk(value);
    }

    /// <summary>
    /// A number: RESP3 double (<c>,x</c>), or in RESP2 a bulk string. Either way the shortest text that parses back
    /// to the same float, so clients get the exact score; non-finite values are <c>nan</c>, <c>inf</c>, <c>-inf</c>.
    /// </summary>
    public void WriteFloat(float value) => WriteNumber(value, isFloat: true);

    /// <inheritdoc cref="WriteFloat"/>
    public void WriteDouble(double value) => WriteNumber(value, isFloat: false);

    private void WriteNumber(double value, bool isFloat)
    {
        Span<byte> text = stackalloc byte[40];
        int n;
        if (double.IsNaN(value)) { "nan"u8.CopyTo(text); n = 3; }
        else if (double.IsPositiveInfinity(value)) { "inf"u8.CopyTo(text); n = 3; }
        else if (double.IsNegativeInfinity(value)) { "-inf"u8.CopyTo(text); n = 4; }
        else if (isFloat) ((float)value).TryFormat(text, out n, default, CultureInfo.InvariantCulture);
        else value.TryFormat(text, out n, "R", CultureInfo.InvariantCulture);
        if (Resp3)
        {
            WriteRaw(","u8);
            WriteRaw(text[..n]);
            WriteRaw(CmdStrings.Crlf);
        }
        else WriteBulk(text[..n]);
    }

    /// <summary>A vector as one bulk string of little-endian float32 values.</summary>
    public void WriteVectorBlob(ReadOnlySpan<float> vector)
    {
        WriteHeader((byte)'$', (long)vector.Length * sizeof(float));
        if (BitConverter.IsLittleEndian)
            WriteRaw(System.Runtime.InteropServices.MemoryMarshal.AsBytes(vector));
        else
            foreach (float x in vector)
            {
                var dest = Reserve(4);
                System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(dest, x);
                _pos += 4;
            }
        WriteRaw(CmdStrings.Crlf);
    }

    /// <summary>A vector as a bulk string holding a JSON array of numbers.</summary>
    public void WriteVectorJson(ReadOnlySpan<float> vector)
    {
        // Two passes: measure the text (for the bulk header), then write it.
        Span<byte> number = stackalloc byte[32];
        long bytes = 2 + Math.Max(0, vector.Length - 1);
        foreach (float x in vector)
        {
            x.TryFormat(number, out int n, default, CultureInfo.InvariantCulture);
            bytes += n;
        }
        WriteHeader((byte)'$', bytes);
        WriteRaw("["u8);
        for (int i = 0; i < vector.Length; i++)
        {
            if (i > 0) WriteRaw(","u8);
            vector[i].TryFormat(number, out int n, default, CultureInfo.InvariantCulture);
            WriteRaw(number[..n]);
        }
        WriteRaw("]"u8);
        WriteRaw(CmdStrings.Crlf);
    }
}
