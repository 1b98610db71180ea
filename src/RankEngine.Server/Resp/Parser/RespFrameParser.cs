namespace RankEngine.Server.Resp.Parser;

/// <summary>What <see cref="RespFrameParser.TryParse"/> found at the start of the buffer.</summary>
internal enum FrameStatus
{
    /// <summary>A whole request; its arguments are in the slots.</summary>
    Complete,
    /// <summary>The request is not all here yet; nothing consumed.</summary>
    Incomplete,
    /// <summary>
    /// The request breaks a size limit but its framing is sound: the headers read so far are consumed and the rest
    /// of the frame is described by the discard state, to be skipped as it arrives (never buffered).
    /// </summary>
    TooLarge,
    /// <summary>An inline command with bad quoting: the line is consumed, the connection stays usable.</summary>
    BadInline,
    /// <summary>Broken framing: where the request ends is unknown, so the connection must be closed.</summary>
    ProtocolError,
}

/// <summary>The rest of an over-limit frame still to skip: bytes of the current argument, then whole arguments.</summary>
internal struct FrameDiscard
{
    public long BytesLeft;
    public long ArgumentsLeft;
    public readonly bool Active => BytesLeft > 0 || ArgumentsLeft > 0;
}

/// <summary>
/// Parses requests in place: RESP arrays of bulk strings (what every Redis client sends) and inline commands (one
/// line of space-separated words, as typed into <c>nc</c> or telnet). Every limit is checked on the header that
/// declares a size, before waiting for or buffering the bytes it announces.
/// </summary>
internal static class RespFrameParser
{
    /// <summary>Longest header line (<c>*123\r\n</c> or <c>$123\r\n</c>) accepted.</summary>
    private const int MaxHeaderLine = 21;

    /// <summary>
    /// Parses one request at the start of <paramref name="buffer"/>. <c>consumed</c> is the bytes that belong to the
    /// request (for TooLarge, its headers read so far); an inline command's arguments are unescaped into
    /// <c>inlineScratch</c> and the slots then point there (<c>inline</c> is true); <c>discard</c> and <c>error</c>
    /// describe a TooLarge or ProtocolError result.
    /// </summary>
    public static FrameStatus TryParse(ReadOnlySpan<byte> buffer, ServerLimits limits, ArgumentSlots slots, ref byte[]? inlineScratch,
        out int consumed, out int argumentCount, out bool inline, out FrameDiscard discard, out string? error)
    {
        consumed = 0;
        argumentCount = 0;
        discard = default;
        error = null;
        inline = false;
        if (buffer.IsEmpty) return FrameStatus.Incomplete;
        if (buffer[0] != (byte)'*')
        {
            inline = true;
            return TryParseInline(buffer, limits, slots, ref inlineScratch, out consumed, out argumentCount, out error);
        }

        int pos = 1;
        var header = TryReadLength(buffer, ref pos, out long count);
        if (header != FrameStatus.Complete)
        {
            if (header == FrameStatus.ProtocolError) error = "invalid multibulk length";
            return header;
        }
        if (count <= 0)
        {
            // *0 and *-1: an empty request, ignored (as Redis does).
            consumed = pos;
            return FrameStatus.Complete;
        }
        if (count > limits.MaxArguments)
        {
            consumed = pos;
            discard.ArgumentsLeft = count;
            error = $"request has {count} arguments, the limit is {limits.MaxArguments}";
            return FrameStatus.TooLarge;
        }
        slots.EnsureCapacity((int)count);
        long frameBytes = pos;
        for (int i = 0; i < count; i++)
        {
            if (pos >= buffer.Length) return FrameStatus.Incomplete;
            if (buffer[pos] != (byte)'$')
            {
                error = $"expected '$', got '{Printable(buffer[pos])}'";
                return FrameStatus.ProtocolError;
            }
            pos++;
            header = TryReadLength(buffer, ref pos, out long length);
            if (header != FrameStatus.Complete)
            {
                if (header == FrameStatus.ProtocolError) error = "invalid bulk length";
                return header;
            }
            if (length < 0)
            {
                error = "invalid bulk length";
                return FrameStatus.ProtocolError;
            }
            frameBytes = pos + length + 2;
            if (length > limits.MaxArgumentBytes || frameBytes > limits.MaxFrameBytes)
            {
                consumed = pos;
                discard.BytesLeft = length + 2;
                discard.ArgumentsLeft = count - i - 1;
                error = length > limits.MaxArgumentBytes
                    ? $"argument {i} is {length} bytes, the limit is {limits.MaxArgumentBytes}"
                    : $"request is larger than {limits.MaxFrameBytes} bytes";
                return FrameStatus.TooLarge;
            }
            if (buffer.Length - pos < length + 2) return FrameStatus.Incomplete;
            if (buffer[pos + (int)length] != (byte)'\r' || buffer[pos + (int)length + 1] != (byte)'\n')
            {
                error = "bulk string not terminated by CRLF";
                return FrameStatus.ProtocolError;
            }
            slots.Starts[i] = pos;
            slots.Lengths[i] = (int)length;
            pos += (int)length + 2;
        }
        consumed = pos;
        argumentCount = (int)count;
        return FrameStatus.Complete;
    }

    /// <summary>
    /// Skips the rest of an over-limit frame as its bytes arrive. True when the frame is fully skipped; false when
    /// more bytes are needed (everything given was consumed) or the framing broke (<paramref name="broken"/>).
    /// </summary>
    public static bool TryDiscard(ref FrameDiscard discard, ReadOnlySpan<byte> buffer, out int consumed, out bool broken)
    {
        consumed = 0;
        broken = false;
        while (true)
        {
            if (discard.BytesLeft > 0)
            {
                int take = (int)Math.Min(discard.BytesLeft, buffer.Length - consumed);
                consumed += take;
                discard.BytesLeft -= take;
                if (discard.BytesLeft > 0) return false;
            }
            if (discard.ArgumentsLeft == 0) return true;
            if (consumed >= buffer.Length) return false;
            if (buffer[consumed] != (byte)'$') { broken = true; return false; }
            int pos = consumed + 1;
            var header = TryReadLength(buffer, ref pos, out long length);
            if (header == FrameStatus.Incomplete) return false;
            if (header != FrameStatus.Complete || length < 0) { broken = true; return false; }
            consumed = pos;
            discard.ArgumentsLeft--;
            discard.BytesLeft = length + 2;
        }
    }

    /// <summary>Reads a decimal length up to CRLF at <paramref name="pos"/> (just after the type byte).</summary>
    private static FrameStatus TryReadLength(ReadOnlySpan<byte> buffer, ref int pos, out long value)
    {
        value = 0;
        int start = pos;
        bool negative = false;
        if (start < buffer.Length && buffer[start] == (byte)'-') { negative = true; start++; }
        int i = start;
        while (true)
        {
            if (i >= buffer.Length) return i - pos > MaxHeaderLine ? FrameStatus.ProtocolError : FrameStatus.Incomplete;
            byte b = buffer[i];
            if (b == (byte)'\r') break;
            if (b < (byte)'0' || b > (byte)'9' || i - start >= 18) return FrameStatus.ProtocolError;
            value = value * 10 + (b - '0');
            i++;
        }
        if (i == start) return FrameStatus.ProtocolError;
        if (i + 1 >= buffer.Length) return FrameStatus.Incomplete;
        if (buffer[i + 1] != (byte)'\n') return FrameStatus.ProtocolError;
        if (negative) value = -value;
        pos = i + 2;
        return FrameStatus.Complete;
    }

    private static FrameStatus TryParseInline(ReadOnlySpan<byte> buffer, ServerLimits limits, ArgumentSlots slots, ref byte[]? scratch,
        out int consumed, out int argumentCount, out string? error)
    {
        consumed = 0;
        argumentCount = 0;
        error = null;
        int newline = buffer.IndexOf((byte)'\n');
        if (newline < 0)
        {
            if (buffer.Length <= limits.MaxInlineBytes + 1) return FrameStatus.Incomplete;
            // No end in sight and already over the limit: waiting would mean buffering without bound.
            error = $"inline request longer than {limits.MaxInlineBytes} bytes";
            return FrameStatus.ProtocolError;
        }
        consumed = newline + 1;
        var line = buffer[..newline];
        if (!line.IsEmpty && line[^1] == (byte)'\r') line = line[..^1];
        if (line.Length > limits.MaxInlineBytes)
        {
            // The line's end is known: refuse it and go on with the next request.
            error = $"inline request is {line.Length} bytes, the limit is {limits.MaxInlineBytes}";
            return FrameStatus.TooLarge;
        }
        scratch ??= new byte[Math.Min(limits.MaxInlineBytes, 4096)];
        if (scratch.Length < line.Length) scratch = new byte[Math.Max(line.Length, Math.Min(limits.MaxInlineBytes, scratch.Length * 2))];
        return SplitInline(line, scratch, slots, limits.MaxArguments, out argumentCount, out error);
    }

    /// <summary>
    /// Splits a line into arguments the way redis-cli and Redis do: spaces separate words; "double quotes" allow
    /// \n \r \t \b \a \\ \" and \xHH escapes; 'single quotes' allow \'. A closing quote must end the word.
    /// </summary>
    internal static FrameStatus SplitInline(ReadOnlySpan<byte> line, byte[] output, ArgumentSlots slots, int maxArguments,
        out int count, out string? error)
    {
        count = 0;
        error = null;
        int i = 0, o = 0;
        while (true)
        {
            while (i < line.Length && IsSpace(line[i])) i++;
            if (i >= line.Length) return FrameStatus.Complete;
            if (count >= maxArguments)
            {
                error = $"request has more than {maxArguments} arguments";
                return FrameStatus.BadInline;
            }
            int start = o;
            bool inDouble = false, inSingle = false;
            while (true)
            {
                if (i >= line.Length)
                {
                    if (inDouble || inSingle) { error = "unbalanced quotes in request"; return FrameStatus.BadInline; }
                    break;
                }
                byte c = line[i];
                if (inDouble)
                {
                    if (c == (byte)'\\' && i + 3 < line.Length && line[i + 1] == (byte)'x' && IsHex(line[i + 2]) && IsHex(line[i + 3]))
                    {
                        output[o++] = (byte)(HexValue(line[i + 2]) * 16 + HexValue(line[i + 3]));
                        i += 4;
                        continue;
                    }
                    if (c == (byte)'\\' && i + 1 < line.Length)
                    {
                        output[o++] = line[i + 1] switch
                        {
                            (byte)'n' => (byte)'\n',
                            (byte)'r' => (byte)'\r',
                            (byte)'t' => (byte)'\t',
                            (byte)'b' => (byte)'\b',
                            (byte)'a' => (byte)'\a',
                            var other => other,
                        };
                        i += 2;
                        continue;
                    }
                    if (c == (byte)'"')
                    {
                        i++;
                        if (i < line.Length && !IsSpace(line[i])) { error = "closing quote must be followed by a space"; return FrameStatus.BadInline; }
                        break;
                    }
                    output[o++] = c;
                    i++;
                }
                else if (inSingle)
                {
                    if (c == (byte)'\\' && i + 1 < line.Length && line[i + 1] == (byte)'\'')
                    {
                        output[o++] = (byte)'\'';
                        i += 2;
                        continue;
                    }
                    if (c == (byte)'\'')
                    {
                        i++;
                        if (i < line.Length && !IsSpace(line[i])) { error = "closing quote must be followed by a space"; return FrameStatus.BadInline; }
                        break;
                    }
                    output[o++] = c;
                    i++;
                }
                else
                {
                    if (IsSpace(c)) break;
                    if (c == (byte)'"') inDouble = true;
                    else if (c == (byte)'\'') inSingle = true;
                    else output[o++] = c;
                    i++;
                }
            }
            slots.EnsureCapacity(count + 1);
            slots.Starts[count] = start;
            slots.Lengths[count] = o - start;
            count++;
        }
    }

    private static bool IsSpace(byte c) => c is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n' or (byte)'\v' or (byte)'\f';
    private static bool IsHex(byte c) => c is >= (byte)'0' and <= (byte)'9' or >= (byte)'a' and <= (byte)'f' or >= (byte)'A' and <= (byte)'F';
    private static int HexValue(byte c) => c <= (byte)'9' ? c - '0' : (c | 0x20) - 'a' + 10;

    /// <summary>A byte as readable text for error messages.</summary>
    internal static string Printable(byte b) => b is >= 0x20 and < 0x7f ? ((char)b).ToString() : $"\\x{b:x2}";
}
