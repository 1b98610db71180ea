using System.Buffers;
using FASTER.core;

namespace RankEngine.Store;

internal sealed partial class RankStore
{
    // Lock order, everywhere: checkpoint gate (shared), then the key's stripe. The reverse could deadlock with a
    // checkpoint waiting for the gate.

    /// <summary>
    /// The write path shared by every put: under the checkpoint gate (shared) and the key's stripe lock, append the
    /// whole value to the write-ahead log, then upsert it into FASTER, then update the catalog mirror. Returns the
    /// log address the caller must wait on before acknowledging. The key is already encoded in the session scratch.
    /// </summary>
    private long ApplyPut(StoreSession session, int keyLength, WalOp op, string id, byte[] value, int valueLength)
    {
        long address;
        _gate.EnterReadLock();
        try
        {
            ThrowIfDisposed();
            lock (StripeFor(session.KeyScratch.AsSpan(0, keyLength)))
                address = ApplyPutLocked(session, keyLength, op, id, value, valueLength);
        }
        finally
        {
            _gate.ExitReadLock();
        }
        MaybeQueueCheckpoint(address);
        return address;
    }

    /// <summary><see cref="ApplyPut"/> for a caller that already holds the gate (shared) and the key's stripe, in that order.</summary>
    private unsafe long ApplyPutLocked(StoreSession session, int keyLength, WalOp op, string id, byte[] value, int valueLength)
    {
        // The stripe is held, so no other write to this key can make it exist between this check and the upsert.
        bool newUser = op == WalOp.PutUser && !Exists(session, keyLength);
        long address = _wal.Append(op, session.KeyScratch.AsSpan(0, keyLength), value.AsSpan(0, valueLength));
        fixed (byte* v = value)
        {
            var key = session.Key(keyLength);
            var stored = new SpanByte(valueLength, (IntPtr)v);
            if (session.Session.Upsert(ref key, ref stored).IsPending)
                session.Session.CompletePending(wait: true);
        }
        if (op == WalOp.PutItem)
            _mirror.Upsert(id, value.AsSpan(0, valueLength));
        else if (newUser)
            Interlocked.Increment(ref _userCount);
        Interlocked.Increment(ref _writesSinceCheckpoint);
        return address;
    }

    /// <summary>Delete path: like <see cref="ApplyPut"/>; returns -1 (nothing logged) when the key does not exist.</summary>
    private long ApplyDelete(StoreSession session, int keyLength, WalOp op, string id)
    {
        var keySpan = session.KeyScratch.AsSpan(0, keyLength);
        long address;
        _gate.EnterReadLock();
        try
        {
            ThrowIfDisposed();
            lock (StripeFor(keySpan))
            {
                if (!Exists(session, keyLength))
                    return -1;
                address = _wal.Append(op, keySpan, default);
                var key = session.Key(keyLength);
                if (session.Session.Delete(ref key).IsPending)
                    session.Session.CompletePending(wait: true);
                if (op == WalOp.DeleteItem)
                    _mirror.Remove(id);
                else
                    Interlocked.Decrement(ref _userCount);
                Interlocked.Increment(ref _writesSinceCheckpoint);
            }
        }
        finally
        {
            _gate.ExitReadLock();
        }
        MaybeQueueCheckpoint(address);
        return address;
    }

    /// <summary>Whether the key exists; a miss that overlapped a compaction is read again (see <see cref="CompactionRaced"/>).</summary>
    private bool Exists(StoreSession session, int keyLength)
    {
        for (int attempt = 0; ; attempt++)
        {
            long seq = Volatile.Read(ref _compactionSeq);
            if (ExistsOnce(session, keyLength))
                return true;
            if (attempt == 3 || !CompactionRaced(seq))
                return false;
        }
    }

    private bool ExistsOnce(StoreSession session, int keyLength)
    {
        var key = session.Key(keyLength);
        SpanByte input = default;
        var output = new StoreOutput { Mode = ReadMode.Exists };
        var status = session.Session.Read(ref key, ref input, ref output, Empty.Default);
        if (status.IsPending)
        {
            session.Session.CompletePendingWithOutputs(out var completed, wait: true);
            using (completed)
                status = completed.Next() ? completed.Current.Status : status;
        }
        return status.Found;
    }

    /// <summary>Reads a whole value into a new array; null when the key does not exist (a miss that overlapped a compaction is read again).</summary>
    private byte[]? ReadValue(StoreSession session, int keyLength)
    {
        for (int attempt = 0; ; attempt++)
        {
            long seq = Volatile.Read(ref _compactionSeq);
            byte[]? value = ReadValueOnce(session, keyLength);
            if (value is not null || attempt == 3 || !CompactionRaced(seq))
                return value;
        }
    }

    private byte[]? ReadValueOnce(StoreSession session, int keyLength)
    {
        var key = session.Key(keyLength);
        SpanByte input = default;
        var output = new StoreOutput { Mode = ReadMode.WholeValue };
        var status = session.Session.Read(ref key, ref input, ref output, Empty.Default);
        if (status.IsPending)
        {
            session.Session.CompletePendingWithOutputs(out var completed, wait: true);
            using (completed)
            {
                if (completed.Next())
                {
                    status = completed.Current.Status;
                    output = completed.Current.Output;
                }
            }
        }
        return status.Found ? output.Value : null;
    }

    private void WaitDurable(long address)
    {
        if (address >= 0)
            _wal.WaitDurable(address);
    }

    private ValueTask WaitDurableAsync(long address, CancellationToken cancellationToken) =>
        address >= 0 ? _wal.WaitDurableAsync(address, cancellationToken) : ValueTask.CompletedTask;

    private static void Return(byte[] buffer) => ArrayPool<byte>.Shared.Return(buffer);
}
