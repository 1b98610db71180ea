namespace RankEngine.Server.Resp.Parser;

/// <summary>
/// Per-session argument slots: start and length of each argument of the current request inside the buffer it was
/// parsed from. Reused for every request; grows (up to <see cref="ServerLimits.MaxArguments"/>) and never shrinks.
/// </summary>
internal sealed class ArgumentSlots
{
    public int[] Starts = new int[16];
    public int[] Lengths = new int[16];

    public void EnsureCapacity(int count)
    {
        if (count <= Starts.Length) return;
        int size = Math.Max(count, Starts.Length * 2);
        Array.Resize(ref Starts, size);
        Array.Resize(ref Lengths, size);
    }
}

/// <summary>
/// The arguments of one parsed request: slices of the receive buffer (or of the inline-command scratch), valid only
/// while that request runs. Index 0 is the verb.
/// </summary>
internal readonly ref struct ParseState
{
    private readonly ReadOnlySpan<byte> _buffer;
    private readonly ArgumentSlots _slots;

    public ParseState(ReadOnlySpan<byte> buffer, ArgumentSlots slots, int count)
    {
        _buffer = buffer;
        _slots = slots;
        Count = count;
    }

    /// <summary>Number of arguments, the verb included.</summary>
    public int Count { get; }

    public ReadOnlySpan<byte> this[int index] => _buffer.Slice(_slots.Starts[index], _slots.Lengths[index]);
}
