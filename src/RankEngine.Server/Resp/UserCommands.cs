using RankEngine.Server.Resp.Parser;
using RankEngine.Store;

namespace RankEngine.Server.Resp;

/// <summary>Feedback commands: USER.EVENT, USER.GET.</summary>
internal sealed partial class RespSession
{
    /// <summary>USER.EVENT user item kind [weight] [AT unix-ms]: records feedback; +OK once durable.</summary>
    private void NetworkUserEvent(in ParseState args, ref RespWriter writer)
    {
        string user = Args.Id(args[1], "user id");
        string item = Args.Id(args[2], "item id");
        var kind = ParseKind(args[3]);
        float weight = 1f;
        DateTimeOffset? at = null;
        int i = 4;
        if (i < args.Count && !Args.Is(args[i], "AT"u8))
        {
            weight = Args.Float(args[i], "event weight");
            if (weight < 0) throw new RespCommandException(ErrorCode.BadArg, $"event weight must be ≥ 0, got {weight}");
            i++;
        }
        if (i < args.Count)
        {
            if (!Args.Is(args[i], "AT"u8) || i + 1 >= args.Count) throw new RespCommandException(ErrorCode.BadArg, $"unknown or incomplete option '{Args.Preview(args[i])}'");
            long ms = Args.Long(args[i + 1], "AT timestamp (Unix milliseconds)");
            if (ms < -62135596800000L || ms > 253402300799999L) throw new RespCommandException(ErrorCode.BadArg, $"AT timestamp {ms} is out of range");
            at = DateTimeOffset.FromUnixTimeMilliseconds(ms);
            i += 2;
        }
        // Counts outside the command's arity are ERR (checked before); anything left over inside it is BADARG.
        if (i != args.Count) throw new RespCommandException(ErrorCode.BadArg, $"unexpected argument '{Args.Preview(args[i])}' after the event");
        if (!_engine.ContainsItem(item)) throw new RespCommandException(ErrorCode.NotFound, $"item '{item}' does not exist");
        _engine.RecordEvent(user, item, kind, weight, at);
        writer.WriteOk();
    }

    private static UserEventKind ParseKind(ReadOnlySpan<byte> arg)
    {
        if (Args.Is(arg, "view"u8)) return UserEventKind.View;
        if (Args.Is(arg, "click"u8)) return UserEventKind.Click;
        if (Args.Is(arg, "like"u8)) return UserEventKind.Like;
        if (Args.Is(arg, "dislike"u8)) return UserEventKind.Dislike;
        if (Args.Is(arg, "purchase"u8)) return UserEventKind.Purchase;
        if (Args.Is(arg, "skip"u8)) return UserEventKind.Skip;
        throw new RespCommandException(ErrorCode.BadArg, $"unknown event kind '{Args.Preview(arg)}' (view, click, like, dislike, purchase, skip)");
    }

    private static ReadOnlySpan<byte> KindWord(UserEventKind kind) => kind switch
    {
        UserEventKind.View => "view"u8,
        UserEventKind.Click => "click"u8,
        UserEventKind.Like => "like"u8,
        UserEventKind.Dislike => "dislike"u8,
        UserEventKind.Purchase => "purchase"u8,
        UserEventKind.Skip => "skip"u8,
        _ => "unknown"u8,
    };

    /// <summary>USER.GET user: map of id, bucket, profile (1 when the user has a profile vector), events [[item, kind, weight, ms]…].</summary>
    private void NetworkUserGet(in ParseState args, ref RespWriter writer)
    {
        string id = Args.Id(args[1], "user id");
        if (!_engine.TryGetUser(id, out var user) || user is null) throw new RespCommandException(ErrorCode.NotFound, $"user '{id}' does not exist");
        var experiment = _engine.Experiment;
        writer.WriteMapHeader(4);
        writer.WriteBulk("id"u8);
        writer.WriteBulk(user.Id);
        writer.WriteBulk("bucket"u8);
        writer.WriteBulk(experiment.Buckets[experiment.BucketOf(user.Id)].Name);
        writer.WriteBulk("profile"u8);
        writer.WriteInteger(user.Vectors.Count > 0 ? 1 : 0);
        writer.WriteBulk("events"u8);
        writer.WriteArrayHeader(user.Events.Count);
        foreach (var e in user.Events)
        {
            writer.WriteArrayHeader(4);
            writer.WriteBulk(e.ItemId);
            writer.WriteBulk(KindWord(e.Kind));
            writer.WriteFloat(e.Weight);
            writer.WriteInteger(e.TimestampMs);
        }
    }
}
