using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace RankEngine.Store;

/// <summary>
/// Validates an <see cref="ItemRecord"/> and encodes it into the version-1 item value layout (Store/FORMAT.md), and
/// decodes it back. Encoding checks everything before writing a byte, so a rejected item never reaches the log.
/// </summary>
internal static class ItemCodec
{
    /// <summary>Validates and encodes; the value is written into a buffer rented from <see cref="ArrayPool{T}.Shared"/> that the caller returns.</summary>
    /// <exception cref="InvalidRecordException">The item breaks a schema rule or a limit.</exception>
    public static byte[] Encode(ItemRecord item, StoreSchema schema, out int length)
    {
        ArgumentNullException.ThrowIfNull(item);
        string what = $"Item '{StoreKeys.Printable(item.Id ?? "")}'";
        RecordLayout.ValidateVectors(what, schema, item.Vectors);
        if (item.Vectors.Count == 0)
            throw new InvalidRecordException($"{what}: an item needs at least one vector; the schema declares {schema.Describe()}.");
        int fieldsBytes = MeasureFields(what, item.Fields);
        int textBytes = 4;
        if (item.Text is not null)
        {
            int n = Utf8Length(what, "text", item.Text);
            if (n > StoreLimits.MaxTextBytes)
                throw new InvalidRecordException($"{what}: text is {n} UTF-8 bytes; at most {StoreLimits.MaxTextBytes} are allowed.");
            textBytes += n;
        }

        int vectorEnd = RecordLayout.HeaderBytes + RecordLayout.MeasureVectors(schema, item.Vectors);
        length = vectorEnd + fieldsBytes + textBytes;
        if (length > StoreLimits.MaxEncodedRecordBytes)
            throw new InvalidRecordException($"{what}: the encoded item is {length} bytes; at most {StoreLimits.MaxEncodedRecordBytes} are allowed.");

        byte[] buffer = ArrayPool<byte>.Shared.Rent(length);
        var value = buffer.AsSpan(0, length);
        value[RecordLayout.VersionOffset] = RecordLayout.Version;
        value[RecordLayout.KindOffset] = (byte)RecordKind.Item;
        BinaryPrimitives.WriteUInt16LittleEndian(value[RecordLayout.SlotCountOffset..], (ushort)schema.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(value[RecordLayout.Word1Offset..], (uint)vectorEnd);
        BinaryPrimitives.WriteUInt32LittleEndian(value[RecordLayout.Word2Offset..], (uint)(vectorEnd + fieldsBytes));
        BinaryPrimitives.WriteUInt32LittleEndian(value[12..], 0);
        int pos = RecordLayout.WriteVectors(value, schema, item.Vectors);
        pos = WriteFields(value, pos, item.Fields);
        if (item.Text is null)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(value[pos..], RecordLayout.NoText);
            pos += 4;
        }
        else
        {
            int n = Encoding.UTF8.GetBytes(item.Text, value[(pos + 4)..]);
            BinaryPrimitives.WriteUInt32LittleEndian(value[pos..], (uint)n);
            pos += 4 + n;
        }
        System.Diagnostics.Debug.Assert(pos == length);
        return buffer;
    }

    /// <summary>Decodes a stored item value.</summary>
    /// <exception cref="StoreCorruptException">The bytes do not follow the layout.</exception>
    public static ItemRecord Decode(string id, ReadOnlySpan<byte> value, StoreSchema schema)
    {
        try
        {
            if (value[RecordLayout.VersionOffset] != RecordLayout.Version || value[RecordLayout.KindOffset] != (byte)RecordKind.Item)
                throw new InvalidDataException($"unexpected header {value[0]}/{value[1]}");
            var item = new ItemRecord(id);
            RecordLayout.ReadVectors(value, schema, item.Vectors);
            ReadFields(value, item.Fields);
            int pos = (int)BinaryPrimitives.ReadUInt32LittleEndian(value[RecordLayout.Word2Offset..]);
            uint textLength = BinaryPrimitives.ReadUInt32LittleEndian(value[pos..]);
            if (textLength != RecordLayout.NoText)
                item.Text = Encoding.UTF8.GetString(value.Slice(pos + 4, (int)textLength));
            return item;
        }
        catch (Exception e) when (e is ArgumentOutOfRangeException or IndexOutOfRangeException or InvalidDataException or ArgumentException)
        {
            throw new StoreCorruptException($"Stored item '{StoreKeys.Printable(id)}' is damaged: {e.Message}", e);
        }
    }

    /// <summary>Decodes only the fields of a stored item value (what the catalog's columns need).</summary>
    /// <exception cref="StoreCorruptException">The bytes do not follow the layout.</exception>
    public static Dictionary<string, FieldValue> DecodeFields(string id, ReadOnlySpan<byte> value)
    {
        var fields = new Dictionary<string, FieldValue>(StringComparer.Ordinal);
        try
        {
            ReadFields(value, fields);
            return fields;
        }
        catch (Exception e) when (e is ArgumentOutOfRangeException or IndexOutOfRangeException or InvalidDataException or ArgumentException)
        {
            throw new StoreCorruptException($"Stored item '{StoreKeys.Printable(id)}' is damaged: {e.Message}", e);
        }
    }

    private static void ReadFields(ReadOnlySpan<byte> value, Dictionary<string, FieldValue> into)
    {
        int pos = (int)BinaryPrimitives.ReadUInt32LittleEndian(value[RecordLayout.Word1Offset..]);
        int fieldCount = BinaryPrimitives.ReadUInt16LittleEndian(value[pos..]);
        pos += 2;
        for (int f = 0; f < fieldCount; f++)
        {
            var kind = (FieldKind)value[pos];
            int nameLength = value[pos + 1];
            string name = Encoding.UTF8.GetString(value.Slice(pos + 2, nameLength));
            pos += 2 + nameLength;
            switch (kind)
            {
                case FieldKind.String:
                    {
                        int n = (int)BinaryPrimitives.ReadUInt32LittleEndian(value[pos..]);
                        into[name] = FieldValue.String(Encoding.UTF8.GetString(value.Slice(pos + 4, n)));
                        pos += 4 + n;
                        break;
                    }
                case FieldKind.Number:
                    into[name] = FieldValue.Num(BinaryPrimitives.ReadDoubleLittleEndian(value[pos..]));
                    pos += 8;
                    break;
                case FieldKind.Tags:
                    {
                        int count = BinaryPrimitives.ReadUInt16LittleEndian(value[pos..]);
                        pos += 2;
                        var tags = new string[count];
                        for (int t = 0; t < count; t++)
                        {
                            int n = BinaryPrimitives.ReadUInt16LittleEndian(value[pos..]);
                            tags[t] = Encoding.UTF8.GetString(value.Slice(pos + 2, n));
                            pos += 2 + n;
                        }
                        into[name] = FieldValue.Tags(tags);
                        break;
                    }
                default:
                    throw new InvalidDataException($"unknown field kind {(byte)kind}");
            }
        }
    }

    private static int MeasureFields(string what, Dictionary<string, FieldValue>? fields)
    {
        if (fields is null)
            throw new InvalidRecordException($"{what}: the fields dictionary is null.");
        if (fields.Count > StoreLimits.MaxFields)
            throw new InvalidRecordException($"{what}: {fields.Count} fields; at most {StoreLimits.MaxFields} are allowed.");
        int bytes = 2;
        foreach (var (name, field) in fields)
        {
            if (string.IsNullOrEmpty(name))
                throw new InvalidRecordException($"{what}: a field name must not be empty.");
            int nameBytes = Utf8Length(what, "field name", name);
            if (nameBytes > StoreLimits.MaxFieldNameBytes)
                throw new InvalidRecordException($"{what}: field name '{StoreKeys.Printable(name)}' is {nameBytes} UTF-8 bytes; at most {StoreLimits.MaxFieldNameBytes} are allowed.");
            if (field is null)
                throw new InvalidRecordException($"{what}: field '{name}' is null.");
            bytes += 2 + nameBytes;
            switch (field.Kind)
            {
                case FieldKind.String:
                    int n = Utf8Length(what, $"field '{name}'", field.Text!);
                    if (n > StoreLimits.MaxStringFieldBytes)
                        throw new InvalidRecordException($"{what}: field '{name}' is {n} UTF-8 bytes; at most {StoreLimits.MaxStringFieldBytes} are allowed.");
                    bytes += 4 + n;
                    break;
                case FieldKind.Number:
                    if (!double.IsFinite(field.Number))
                        throw new InvalidRecordException($"{what}: number field '{name}' is {field.Number}; NaN and infinity are not allowed.");
                    // Ranking reads numbers as float32 (boosts, filters): a double beyond its range would become infinity there.
                    if (Math.Abs(field.Number) > float.MaxValue)
                        throw new InvalidRecordException($"{what}: number field '{name}' is {field.Number.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}, outside the float32 range (±3.4028235E+38).");
                    bytes += 8;
                    break;
                case FieldKind.Tags:
                    if (field.TagList.Count > StoreLimits.MaxTags)
                        throw new InvalidRecordException($"{what}: field '{name}' has {field.TagList.Count} tags; at most {StoreLimits.MaxTags} are allowed.");
                    bytes += 2;
                    foreach (string tag in field.TagList)
                    {
                        if (string.IsNullOrEmpty(tag))
                            throw new InvalidRecordException($"{what}: field '{name}' has an empty or null tag.");
                        int t = Utf8Length(what, $"tag in field '{name}'", tag);
                        if (t > StoreLimits.MaxTagBytes)
                            throw new InvalidRecordException($"{what}: a tag in field '{name}' is {t} UTF-8 bytes; at most {StoreLimits.MaxTagBytes} are allowed.");
                        bytes += 2 + t;
                    }
                    break;
                default:
                    throw new InvalidRecordException($"{what}: field '{name}' has unknown kind {(int)field.Kind}.");
            }
        }
        return bytes;
    }

    private static int WriteFields(Span<byte> value, int pos, Dictionary<string, FieldValue> fields)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(value[pos..], (ushort)fields.Count);
        pos += 2;
        // Ordinal name order so equal items encode to equal bytes.
        var names = fields.Keys.ToArray();
        Array.Sort(names, StringComparer.Ordinal);
        foreach (string name in names)
        {
            var field = fields[name];
            value[pos] = (byte)field.Kind;
            int nameBytes = Encoding.UTF8.GetBytes(name, value[(pos + 2)..]);
            value[pos + 1] = (byte)nameBytes;
            pos += 2 + nameBytes;
            switch (field.Kind)
            {
                case FieldKind.String:
                    int n = Encoding.UTF8.GetBytes(field.Text!, value[(pos + 4)..]);
                    BinaryPrimitives.WriteUInt32LittleEndian(value[pos..], (uint)n);
                    pos += 4 + n;
                    break;
                case FieldKind.Number:
                    BinaryPrimitives.WriteDoubleLittleEndian(value[pos..], field.Number);
                    pos += 8;
                    break;
                default:
                    BinaryPrimitives.WriteUInt16LittleEndian(value[pos..], (ushort)field.TagList.Count);
                    pos += 2;
                    foreach (string tag in field.TagList)
                    {
                        int t = Encoding.UTF8.GetBytes(tag, value[(pos + 2)..]);
                        BinaryPrimitives.WriteUInt16LittleEndian(value[pos..], (ushort)t);
                        pos += 2 + t;
                    }
                    break;
            }
        }
        return pos;
    }

    /// <summary>UTF-8 length of a string, rejecting lone surrogates (they cannot round-trip).</summary>
    internal static int Utf8Length(string what, string part, string text)
    {
        try
        {
            return StoreKeys.StrictUtf8.GetByteCount(text);
        }
        catch (EncoderFallbackException)
        {
            throw new InvalidRecordException($"{what}: {part} is not valid Unicode (it contains a lone surrogate).");
        }
    }
}
