using System.Buffers;
using System.Buffers.Binary;
using FASTER.core;

namespace RankEngine.Store;

/// <summary>Operation of a write-ahead-log entry. Persisted: values are append-only.</summary>
internal enum WalOp : byte
{
    PutItem = 1,
    DeleteItem = 2,
    PutUser = 3,
    DeleteUser = 4,
}

/// <summary>
/// The store's write-ahead log, a <see cref="FasterLog"/>. Every write is appended here and the caller is answered
/// only once a FasterLog commit covers it (<see cref="WaitDurable"/>): writers that arrive while a commit is being
/// written share the next one (group commit). Entries carry whole values (never deltas), so replaying any suffix
/// that starts at or before a checkpoint's cut-off, in log order, yields the same state: replay is idempotent.
/// </summary>
/// <remarks>
/// Entry layout (version 1): u8 entry version, u8 <see cref="WalOp"/>, u16 key length, key bytes, value bytes (the
/// rest of the entry; empty for deletes). FasterLog adds its own length header and a per-entry checksum.
/// </remarks>
internal sealed class WriteAheadLog : IDisposable
{
    public const byte EntryVersion = 1;
    private const int EntryHeaderBytes = 4;
    public const int PageSizeBits = 22;

    /// <summary>Begin address of a FasterLog that was never truncated (FASTER's first valid address).</summary>
    public const long FirstAddress = 64; // 4 MiB pages hold the largest entry (StoreLimits.MaxEncodedRecordBytes + key).

    private readonly IDevice _device;
    private readonly FasterLog _log;
    private readonly string _directory;

    public WriteAheadLog(string directory, int segmentSizeBits)
    {
        _directory = directory;
        Directory.CreateDirectory(directory);
        _device = Devices.CreateLogDevice(Path.Combine(directory, "wal.log"), recoverDevice: true);
        string commitDirectory = Path.Combine(directory, "commits");
        bool hasCommits = Directory.Exists(commitDirectory) && Directory.EnumerateFileSystemEntries(commitDirectory, "*", SearchOption.AllDirectories).Any();
        var settings = new FasterLogSettings
        {
            LogDevice = _device,
            LogCommitDir = commitDirectory,
            PageSizeBits = PageSizeBits,
            MemorySizeBits = PageSizeBits + 2,
            SegmentSizeBits = segmentSizeBits,
            LogChecksum = LogChecksumType.PerEntry,
            // Recovery is explicit below: TryRecoverLatest would swallow a failure and silently start empty.
            TryRecoverLatest = false,
            RemoveOutdatedCommits = true,
        };
        try
        {
            _log = new FasterLog(settings);
            if (hasCommits)
                _log.Recover();
        }
        catch (Exception e) when (e is FasterException or IOException or InvalidDataException)
        {
            _device.Dispose();
            throw new StoreCorruptException($"The write-ahead log in '{directory}' cannot be recovered: {e.Message}", e);
        }
    }

    /// <summary>First address still in the log (earlier entries were truncated after a checkpoint).</summary>
    public long BeginAddress => _log.BeginAddress;

    /// <summary>Address the next entry will be written at (or past, if it starts a new page).</summary>
    public long TailAddress => _log.TailAddress;

    /// <summary>Everything below this address is durable.</summary>
    public long CommittedUntilAddress => _log.CommittedUntilAddress;

    /// <summary>Start of the page holding <paramref name="address"/>; pages start with an entry, so this is a valid place to scan or truncate from.</summary>
    public static long PageStart(long address) => address & ~((1L << PageSizeBits) - 1);

    /// <summary>Appends an entry (in memory) and returns its address; pass it to <see cref="WaitDurable"/> before acknowledging.</summary>
    public long Append(WalOp op, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        int length = EntryLength(key, value);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            EncodeEntry(buffer, op, key, value);
            return _log.Enqueue(buffer.AsSpan(0, length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    internal static int EntryLength(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => EntryHeaderBytes + key.Length + value.Length;

    /// <summary>Writes one entry (layout in the class remarks) and returns its length.</summary>
    internal static int EncodeEntry(Span<byte> destination, WalOp op, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        destination[0] = EntryVersion;
        destination[1] = (byte)op;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[2..], (ushort)key.Length);
        key.CopyTo(destination[EntryHeaderBytes..]);
        value.CopyTo(destination[(EntryHeaderBytes + key.Length)..]);
        return EntryLength(key, value);
    }

    /// <summary>
    /// Blocks until the entry at <paramref name="address"/> is durable. Issues a commit if none covers it yet; commits
    /// always end on an entry boundary, so one that passes the entry's first byte covers all of it.
    /// </summary>
    public void WaitDurable(long address)
    {
        if (_log.CommittedUntilAddress > address)
            return;
        _log.Commit(spinWait: false);
        var wait = _log.WaitForCommitAsync(address + 1);
        if (!wait.IsCompleted)
            wait.AsTask().GetAwaiter().GetResult();
        else
            wait.GetAwaiter().GetResult();
    }

    /// <summary>Asynchronous <see cref="WaitDurable"/>.</summary>
    public async ValueTask WaitDurableAsync(long address, CancellationToken cancellationToken)
    {
        if (_log.CommittedUntilAddress > address)
            return;
        _log.Commit(spinWait: false);
        await _log.WaitForCommitAsync(address + 1, token: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Drops entries before the page holding <paramref name="address"/> and commits the new begin address.</summary>
    public void TruncateBefore(long address)
    {
        long until = PageStart(address);
        if (until <= _log.BeginAddress)
            return;
        _log.TruncateUntilPageStart(until);
        _log.Commit(spinWait: true);
    }

    /// <summary>
    /// Calls <paramref name="apply"/> for every committed entry at or after <paramref name="from"/>, in log order;
    /// returns the count. The scan starts at the page holding <paramref name="from"/> (always an entry boundary) and
    /// skips the entries before it.
    /// </summary>
    public long Replay(long from, ReplayAction apply)
    {
        long begin = Math.Max(PageStart(from), _log.BeginAddress);
        long end = _log.TailAddress;
        if (begin >= end)
            return 0;
        long count = 0;
        using var iterator = _log.Scan(begin, end);
        while (iterator.GetNext(out byte[] entry, out int length, out long address))
        {
            if (address < from)
                continue;
            var span = entry.AsSpan(0, length);
            if (length < EntryHeaderBytes || span[0] != EntryVersion)
                throw new StoreCorruptException($"Write-ahead log entry at {address} in '{_directory}' has an unknown format (version byte {(length > 0 ? span[0] : -1)}).");
            var op = (WalOp)span[1];
            int keyLength = BinaryPrimitives.ReadUInt16LittleEndian(span[2..]);
            if (!Enum.IsDefined(op) || EntryHeaderBytes + keyLength > length || keyLength < 2)
                throw new StoreCorruptException($"Write-ahead log entry at {address} in '{_directory}' is damaged (op {(byte)op}, key length {keyLength}, entry length {length}).");
            apply(op, span.Slice(EntryHeaderBytes, keyLength), span[(EntryHeaderBytes + keyLength)..]);
            count++;
        }
        return count;
    }

    public void Dispose()
    {
        _log.Dispose();
        _device.Dispose();
    }
}

/// <summary>Receives one write-ahead-log entry during replay.</summary>
internal delegate void ReplayAction(WalOp op, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value);
