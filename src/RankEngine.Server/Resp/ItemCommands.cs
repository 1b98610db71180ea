using RankEngine.Server.Resp.Parser;
using RankEngine.Store;

namespace RankEngine.Server.Resp;

/// <summary>Catalog commands: ENCODE, ITEM.ADD, ITEM.ADDVEC, ITEM.GET, ITEM.DEL.</summary>
internal sealed partial class RespSession
{
    /// <summary>ENCODE [FORMAT BLOB|JSON] text…: one vector per text, as float32 LE blobs (default) or JSON arrays.</summary>
    private void NetworkEncode(in ParseState args, ref RespWriter writer)
    {
        int first = 1;
        bool json = false;
        // One rule: a first argument FORMAT is always the option (to encode the word itself, put it after the option).
        if (Args.Is(args[1], CmdStrings.Format))
        {
            if (args.Count < 3) throw new RespCommandException(ErrorCode.BadArg, "ENCODE FORMAT needs BLOB or JSON");
            if (Args.Is(args[2], CmdStrings.Json)) json = true;
            else if (!Args.Is(args[2], CmdStrings.Blob))
                throw new RespCommandException(ErrorCode.BadArg, $"ENCODE FORMAT must be BLOB or JSON, got '{Args.Preview(args[2])}'");
            first = 3;
        }
        int count = args.Count - first;
        if (count == 0) throw new RespCommandException(ErrorCode.BadArg, "ENCODE needs at least one text");
        if (count > _limits.MaxEncodeBatch)
            throw new RespCommandException(ErrorCode.TooLarge, $"ENCODE got {count} texts, the limit is {_limits.MaxEncodeBatch}");
        // Encoder work grows with tokens up to the model's sequence length (128 for USE-lite, about 512 bytes):
        // bytes beyond that are truncated, so each text counts at most EncodeBytesPerTextCap.
        long cost = 0;
        for (int i = 0; i < count; i++) cost += Math.Min(args[first + i].Length, ServerLimits.EncodeBytesPerTextCap);
        if (cost > _limits.MaxEncodeBytes)
            throw new RespCommandException(ErrorCode.TooLarge,
                $"ENCODE got {cost} bytes of text (each text counting at most {ServerLimits.EncodeBytesPerTextCap}), the limit is {_limits.MaxEncodeBytes} per request");
        var texts = new string[count];
        for (int i = 0; i < count; i++) texts[i] = Args.Text(args[first + i], $"text {i + 1}", _limits.MaxTextBytes);
        var embeddings = _engine.Encode(texts);
        writer.WriteArrayHeader(count);
        for (int i = 0; i < count; i++)
        {
            if (json) writer.WriteVectorJson(embeddings.Vector(i));
            else writer.WriteVectorBlob(embeddings.Vector(i));
        }
    }

    /// <summary>
    /// ITEM.ADD id text [options] or ITEM.ADDVEC id blob [TEXT text] [options], options being
    /// FIELD name value (a number when it reads as one, else a string), STR name value, TAGS name a|b|c, COLLAB blob.
    /// Answers +OK once the item is durable.
    /// </summary>
    private void NetworkItemAdd(in ParseState args, ref RespWriter writer, bool withVector)
    {
        string id = Args.Id(args[1], "item id");
        string? text = null;
        float[]? content = null, collab = null;
        if (withVector) content = Args.Vector(args[2], _engine.ContentDimension, "content vector");
        else text = Args.Text(args[2], "item text", _limits.MaxTextBytes);
        var fields = new Dictionary<string, FieldValue>(StringComparer.Ordinal);
        for (int i = 3; i < args.Count; i++)
        {
            var option = args[i];
            if (Args.Is(option, CmdStrings.Field) || Args.Is(option, CmdStrings.Str) || Args.Is(option, CmdStrings.Tags))
            {
                if (i + 2 >= args.Count) throw new RespCommandException(ErrorCode.BadArg, $"{Args.Preview(option).ToUpperInvariant()} needs a name and a value");
                if (fields.Count >= StoreLimits.MaxFields)
                    throw new RespCommandException(ErrorCode.TooLarge, $"an item has at most {StoreLimits.MaxFields} fields");
                string name = Args.Text(args[i + 1], "field name", StoreLimits.MaxFieldNameBytes);
                if (name.Length == 0) throw new RespCommandException(ErrorCode.BadArg, "field name is empty");
                var value = args[i + 2];
                if (Args.Is(option, CmdStrings.Tags)) fields[name] = ParseTags(value, name);
                else if (Args.Is(option, CmdStrings.Field) && Args.TryNumber(value, out double number, $"field '{name}'")) fields[name] = FieldValue.Num(number);
                else fields[name] = FieldValue.String(Args.Text(value, $"field '{name}'", StoreLimits.MaxStringFieldBytes));
                i += 2;
            }
            else if (Args.Is(option, CmdStrings.Collab) && i + 1 < args.Count)
            {
                if (_engine.CollabDimension == 0) throw new RespCommandException(ErrorCode.BadArg, "collab vectors are disabled on this server");
                collab = Args.Vector(args[++i], _engine.CollabDimension, "collab vector");
            }
            else if (withVector && Args.Is(option, CmdStrings.Text) && i + 1 < args.Count)
                text = Args.Text(args[++i], "item text", _limits.MaxTextBytes);
            else throw new RespCommandException(ErrorCode.BadArg, $"unknown or incomplete option '{Args.Preview(option)}'");
        }
        _engine.AddItems([new ItemInput(id) { Text = text, ContentVector = content, CollabVector = collab, Fields = fields }]);
        writer.WriteOk();
    }

    private static FieldValue ParseTags(ReadOnlySpan<byte> value, string name)
    {
        string all = Args.Text(value, $"tags of '{name}'", StoreLimits.MaxTags * (StoreLimits.MaxTagBytes + 1));
        var tags = all.Split('|', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (tags.Length > StoreLimits.MaxTags)
            throw new RespCommandException(ErrorCode.TooLarge, $"field '{name}' has {tags.Length} tags, the limit is {StoreLimits.MaxTags}");
        return FieldValue.Tags(tags);
    }

    /// <summary>ITEM.GET id [WITHVECTORS]: the item as a map (id, text, fields, and vectors on request).</summary>
    private void NetworkItemGet(in ParseState args, ref RespWriter writer)
    {
        string id = Args.Id(args[1], "item id");
        bool vectors = false;
        if (args.Count > 2)
        {
            if (!Args.Is(args[2], CmdStrings.WithVectors)) throw new RespCommandException(ErrorCode.BadArg, $"unknown option '{Args.Preview(args[2])}'");
            vectors = true;
        }
        if (!_engine.TryGetItem(id, out var item) || item is null) throw new RespCommandException(ErrorCode.NotFound, $"item '{id}' does not exist");
        writer.WriteMapHeader(vectors ? 3 + item.Vectors.Count : 3);
        writer.WriteBulk("id"u8);
        writer.WriteBulk(item.Id);
        writer.WriteBulk("text"u8);
        writer.WriteBulkOrNull(item.Text);
        writer.WriteBulk("fields"u8);
        WriteFields(ref writer, item.Fields);
        if (vectors)
            foreach (var (name, vector) in item.Vectors)
            {
                writer.WriteBulk(name);
                writer.WriteVectorBlob(vector);
            }
    }

    /// <summary>Fields as a map of name → [kind, value]: ["num", number], ["str", text] or ["tags", [tag…]], names in ordinal order.</summary>
    private static void WriteFields(ref RespWriter writer, IReadOnlyDictionary<string, FieldValue> fields)
    {
        writer.WriteMapHeader(fields.Count);
        var names = fields.Keys.ToArray();
        Array.Sort(names, StringComparer.Ordinal);
        foreach (var name in names)
        {
            var value = fields[name];
            writer.WriteBulk(name);
            writer.WriteArrayHeader(2);
            switch (value.Kind)
            {
                case FieldKind.Number:
                    writer.WriteBulk("num"u8);
                    writer.WriteDouble(value.Number);
                    break;
                case FieldKind.String:
                    writer.WriteBulk("str"u8);
                    writer.WriteBulk(value.Text!);
                    break;
                default:
                    writer.WriteBulk("tags"u8);
                    writer.WriteArrayHeader(value.TagList.Count);
                    foreach (var tag in value.TagList) writer.WriteBulk(tag);
                    break;
            }
        }
    }

    /// <summary>ITEM.DEL id: :1 when the item existed, :0 otherwise. Durable on reply.</summary>
    private void NetworkItemDel(in ParseState args, ref RespWriter writer)
    {
        string id = Args.Id(args[1], "item id");
        writer.WriteInteger(_engine.DeleteItem(id) ? 1 : 0);
    }
}
