using System.Diagnostics.CodeAnalysis;

namespace RankEngine.Store;

internal sealed partial class RankStore
{
    /// <summary>
    /// Inserts or replaces a user and returns once the write is durable. Only the newest
    /// <see cref="StoreOptions.MaxUserEvents"/> events are kept; a null bucket is assigned from the id.
    /// </summary>
    /// <exception cref="InvalidRecordException">The user breaks a schema rule or a limit.</exception>
    public void UpsertUser(UserRecord user) => WaitDurable(PutUser(user));

    /// <summary>Asynchronous <see cref="UpsertUser"/>.</summary>
    public ValueTask UpsertUserAsync(UserRecord user, CancellationToken cancellationToken = default) =>
        WaitDurableAsync(PutUser(user), cancellationToken);

    /// <summary>Deletes a user; false when it does not exist. Returns once the delete is durable.</summary>
    public bool DeleteUser(string id)
    {
        var session = RentSession();
        long address;
        try
        {
            address = ApplyDelete(session, StoreKeys.Encode(RecordKind.User, id, session.KeyScratch), WalOp.DeleteUser, id);
        }
        finally
        {
            ReturnSession(session);
        }
        WaitDurable(address);
        return address >= 0;
    }

    /// <summary>Reads a user; false when it does not exist.</summary>
    public bool TryGetUser(string id, [NotNullWhen(true)] out UserRecord? user)
    {
        var session = RentSession();
        try
        {
            byte[]? value = ReadValue(session, StoreKeys.Encode(RecordKind.User, id, session.KeyScratch));
            user = value is null ? null : UserCodec.Decode(id, value, _schema);
            return user is not null;
        }
        finally
        {
            ReturnSession(session);
        }
    }

    /// <summary>Reads one profile vector of a user into <paramref name="destination"/>; false when the user or the vector is absent.</summary>
    public bool TryGetUserVector(string userId, string vectorName, Span<float> destination)
    {
        bool found = false;
        ReadVectors(RecordKind.User, new ReadOnlySpan<string>(ref userId), vectorName, destination, new Span<bool>(ref found));
        return found;
    }

    /// <summary>
    /// Appends a feedback event to a user's bounded history (dropping the oldest beyond
    /// <see cref="StoreOptions.MaxUserEvents"/>), creating the user if needed, and returns once durable. The
    /// read-modify-write is atomic with respect to other writes to the same user; the log records the resulting
    /// user, so replay never applies an event twice.
    /// </summary>
    /// <exception cref="InvalidRecordException">The user id or the event is invalid.</exception>
    public void AppendUserEvent(string userId, UserEvent userEvent) => WaitDurable(AppendEvent(userId, userEvent));

    /// <summary>Asynchronous <see cref="AppendUserEvent"/>.</summary>
    public ValueTask AppendUserEventAsync(string userId, UserEvent userEvent, CancellationToken cancellationToken = default) =>
        WaitDurableAsync(AppendEvent(userId, userEvent), cancellationToken);

    private long PutUser(UserRecord user)
    {
        ArgumentNullException.ThrowIfNull(user);
        var session = RentSession();
        byte[]? value = null;
        try
        {
            int keyLength = StoreKeys.Encode(RecordKind.User, user.Id, session.KeyScratch);
            value = UserCodec.Encode(user, _schema, _options.MaxUserEvents, _options.AbBucketCount, out int length);
            return ApplyPut(session, keyLength, WalOp.PutUser, user.Id, value, length);
        }
        finally
        {
            if (value is not null)
                Return(value);
            ReturnSession(session);
        }
    }

    private long AppendEvent(string userId, UserEvent userEvent)
    {
        var session = RentSession();
        try
        {
            int keyLength = StoreKeys.Encode(RecordKind.User, userId, session.KeyScratch);
            UserCodec.ValidateEvent($"User '{StoreKeys.Printable(userId)}'", userEvent);
            long address;
                _gate.EnterReadLock();
            try
            {
                ThrowIfDisposed();
                // Hold the stripe across read and write so no other write to this user slips in between.
                lock (StripeFor(session.KeyScratch.AsSpan(0, keyLength)))
                {
                    byte[]? current = ReadValue(session, keyLength);
                    var user = current is null ? new UserRecord(userId) : UserCodec.Decode(userId, current, _schema);
                    user.Events.Add(userEvent);
                    byte[] value = UserCodec.Encode(user, _schema, _options.MaxUserEvents, _options.AbBucketCount, out int length);
                    try
                    {
                        address = ApplyPutLocked(session, keyLength, WalOp.PutUser, userId, value, length);
                    }
                    finally
                    {
                        Return(value);
                    }
                }
            }
            finally
            {
                _gate.ExitReadLock();
            }
            MaybeQueueCheckpoint(address);
            return address;
        }
        finally
        {
            ReturnSession(session);
        }
    }
}
