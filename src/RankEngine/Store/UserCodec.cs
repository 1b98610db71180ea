using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace RankEngine.Store;

/// <summary>Validates a <see cref="UserRecord"/> and encodes it into the version-1 user value layout (Store/FORMAT.md), and back.</summary>
internal static class UserCodec
{
    // Per event: u8 kind, u8 reserved, u16 item-id length, f32 weight, i64 timestamp, item-id bytes.
    private const int EventFixedBytes = 16;

    /// <summary>
    /// Validates and encodes a user. Only the newest <paramref name="maxEvents"/> events are kept; a null bucket is
    /// assigned with <see cref="AbBuckets.ForUser"/>. The buffer is rented from <see cref="ArrayPool{T}.Shared"/>.
    /// </summary>
    public static byte[] Encode(UserRecord user, StoreSchema schema, int maxEvents, int bucketCount, out int length)
    {
        ArgumentNullException.ThrowIfNull(user);
        string what = $"User '{StoreKeys.Printable(user.Id ?? "")}'";
        RecordLayout.ValidateVectors(what, schema, user.Vectors);
        if (user.Events is null)
            throw new InvalidRecordException($"{what}: the events list is null.");
        int bucket = user.Bucket ?? AbBuckets.ForUser(user.Id!, bucketCount);
        if (bucket < 0 || bucket >= bucketCount)
            throw new InvalidRecordException($"{what}: A/B bucket {bucket} is outside 0..{bucketCount - 1}.");
        int firstEvent = Math.Max(0, user.Events.Count - maxEvents);
        int eventBytes = 2;
        for (int i = firstEvent; i < user.Events.Count; i++)
            eventBytes += EventFixedBytes + ValidateEvent(what, user.Events[i]);

        int vectorEnd = RecordLayout.HeaderBytes + RecordLayout.MeasureVectors(schema, user.Vectors);
        length = vectorEnd + eventBytes;
        if (length > StoreLimits.MaxEncodedRecordBytes)
            throw new InvalidRecordException($"{what}: the encoded user is {length} bytes; at most {StoreLimits.MaxEncodedRecordBytes} are allowed.");

        byte[] buffer = ArrayPool<byte>.Shared.Rent(length);
        var value = buffer.AsSpan(0, length);
        value[RecordLayout.VersionOffset] = RecordLayout.Version;
        value[RecordLayout.KindOffset] = (byte)RecordKind.User;
        BinaryPrimitives.WriteUInt16LittleEndian(value[RecordLayout.SlotCountOffset..], (ushort)schema.Count);
        BinaryPrimitives.WriteInt32LittleEndian(value[RecordLayout.Word1Offset..], bucket);
        BinaryPrimitives.WriteUInt32LittleEndian(value[RecordLayout.Word2Offset..], (uint)vectorEnd);
        BinaryPrimitives.WriteUInt32LittleEndian(value[12..], 0);
        int pos = RecordLayout.WriteVectors(value, schema, user.Vectors);
        BinaryPrimitives.WriteUInt16LittleEndian(value[pos..], (ushort)(user.Events.Count - firstEvent));
        pos += 2;
        for (int i = firstEvent; i < user.Events.Count; i++)
        {
            var e = user.Events[i];
            value[pos] = (byte)e.Kind;
            value[pos + 1] = 0;
            int n = Encoding.UTF8.GetBytes(e.ItemId, value[(pos + EventFixedBytes)..]);
            BinaryPrimitives.WriteUInt16LittleEndian(value[(pos + 2)..], (ushort)n);
            BinaryPrimitives.WriteSingleLittleEndian(value[(pos + 4)..], e.Weight);
            BinaryPrimitives.WriteInt64LittleEndian(value[(pos + 8)..], e.TimestampMs);
            pos += EventFixedBytes + n;
        }
        System.Diagnostics.Debug.Assert(pos == length);
        return buffer;
    }

    /// <summary>Checks one event; returns its item id's UTF-8 length.</summary>
    public static int ValidateEvent(string what, in UserEvent e)
    {
        if (string.IsNullOrEmpty(e.ItemId))
            throw new InvalidRecordException($"{what}: an event's item id must not be empty.");
        int n = ItemCodec.Utf8Length(what, "an event's item id", e.ItemId);
        if (n > StoreLimits.MaxIdBytes)
            throw new InvalidRecordException($"{what}: event item id '{StoreKeys.Printable(e.ItemId)}' is {n} UTF-8 bytes; at most {StoreLimits.MaxIdBytes} are allowed.");
        if (!Enum.IsDefined(e.Kind))
            throw new InvalidRecordException($"{what}: unknown event kind {(int)e.Kind}.");
        if (!float.IsFinite(e.Weight))
            throw new InvalidRecordException($"{what}: event weight {e.Weight} is not finite.");
        return n;
    }

    /// <summary>Decodes a stored user value.</summary>
    /// <exception cref="StoreCorruptException">The bytes do not follow the layout.</exception>
    public static UserRecord Decode(string id, ReadOnlySpan<byte> value, StoreSchema schema)
    {
        try
        {
            if (value[RecordLayout.VersionOffset] != RecordLayout.Version || value[RecordLayout.KindOffset] != (byte)RecordKind.User)
                throw new InvalidDataException($"unexpected header {value[0]}/{value[1]}");
            var user = new UserRecord(id) { Bucket = BinaryPrimitives.ReadInt32LittleEndian(value[RecordLayout.Word1Offset..]) };
            RecordLayout.ReadVectors(value, schema, user.Vectors);
            int pos = (int)BinaryPrimitives.ReadUInt32LittleEndian(value[RecordLayout.Word2Offset..]);
            int count = BinaryPrimitives.ReadUInt16LittleEndian(value[pos..]);
            pos += 2;
            user.Events.Capacity = count;
            for (int i = 0; i < count; i++)
            {
                var kind = (UserEventKind)value[pos];
                int n = BinaryPrimitives.ReadUInt16LittleEndian(value[(pos + 2)..]);
                float weight = BinaryPrimitives.ReadSingleLittleEndian(value[(pos + 4)..]);
                long timestamp = BinaryPrimitives.ReadInt64LittleEndian(value[(pos + 8)..]);
                string itemId = Encoding.UTF8.GetString(value.Slice(pos + EventFixedBytes, n));
                user.Events.Add(new UserEvent(itemId, kind, weight, timestamp));
                pos += EventFixedBytes + n;
            }
            return user;
        }
        catch (Exception e) when (e is ArgumentOutOfRangeException or IndexOutOfRangeException or InvalidDataException or ArgumentException)
        {
            throw new StoreCorruptException($"Stored user '{StoreKeys.Printable(id)}' is damaged: {e.Message}", e);
        }
    }
}
