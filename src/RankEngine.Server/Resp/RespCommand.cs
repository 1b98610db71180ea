namespace RankEngine.Server.Resp;

/// <summary>The protocol's commands. Not persisted: values may change between versions (metrics use the names).</summary>
public enum RespCommand : byte
{
    /// <summary>Not a known command.</summary>
    None,
    /// <summary>PING [message].</summary>
    Ping,
    /// <summary>HELLO [2|3 [AUTH user token] [SETNAME name]].</summary>
    Hello,
    /// <summary>AUTH [user] token.</summary>
    Auth,
    /// <summary>QUIT.</summary>
    Quit,
    /// <summary>INFO [section].</summary>
    Info,
    /// <summary>COMMAND … (an empty reply, for redis-cli's start-up probe).</summary>
    Command,
    /// <summary>ENCODE [FORMAT BLOB|JSON] text….</summary>
    Encode,
    /// <summary>ITEM.ADD id text [options].</summary>
    ItemAdd,
    /// <summary>ITEM.ADDVEC id blob [options].</summary>
    ItemAddVec,
    /// <summary>ITEM.GET id [WITHVECTORS].</summary>
    ItemGet,
    /// <summary>ITEM.DEL id.</summary>
    ItemDel,
    /// <summary>USER.EVENT user item kind [weight] [AT ms].</summary>
    UserEvent,
    /// <summary>USER.GET user.</summary>
    UserGet,
    /// <summary>RANK user [options].</summary>
    Rank,
    /// <summary>SCORE user id….</summary>
    Score,
    /// <summary>SAVE.</summary>
    Save,
    // Redis compatibility (CompatCommands.cs): what stock clients send; none of them calls the engine's write paths.
    /// <summary>ECHO message.</summary>
    Echo,
    /// <summary>SELECT index (only 0).</summary>
    Select,
    /// <summary>CLIENT SETNAME|GETNAME|SETINFO|ID|INFO|LIST ….</summary>
    Client,
    /// <summary>MULTI: start queuing.</summary>
    Multi,
    /// <summary>EXEC: run the queued commands in order.</summary>
    Exec,
    /// <summary>DISCARD: drop the queue.</summary>
    Discard,
    /// <summary>CONFIG GET pattern….</summary>
    Config,
    /// <summary>DBSIZE: the number of items.</summary>
    DbSize,
}

/// <summary>Verb lookup and per-command facts (arity, whether it calls the engine, whether it works before AUTH).</summary>
internal static class CommandTable
{
    public const int Count = (int)RespCommand.DbSize + 1;

    private static readonly string[] Names =
        ["unknown", "ping", "hello", "auth", "quit", "info", "command", "encode", "item.add", "item.addvec", "item.get", "item.del",
         "user.event", "user.get", "rank", "score", "save",
         "echo", "select", "client", "multi", "exec", "discard", "config", "dbsize"];

    // Arguments including the verb; -1 = no upper bound.
    private static readonly short[] MinArity = [1, 1, 1, 2, 1, 1, 1, 2, 3, 3, 2, 2, 4, 2, 2, 3, 1,  2, 2, 2, 1, 1, 1, 2, 1];
    private static readonly short[] MaxArity = [-1, 2, 7, 3, 1, 2, -1, -1, -1, -1, 3, 2, 7, 2, -1, -1, 1,  2, 2, -1, 1, 1, 1, -1, 1];

    /// <summary>Lower-case name (metrics label, error messages).</summary>
    public static string Name(RespCommand command) => Names[(int)command];

    public static bool ArityOk(RespCommand command, int count) =>
        count >= MinArity[(int)command] && (MaxArity[(int)command] < 0 || count <= MaxArity[(int)command]);

    /// <summary>Commands that run engine work take an in-flight slot (and can be answered BUSY).</summary>
    public static bool UsesEngine(RespCommand command) => command is >= RespCommand.Encode and <= RespCommand.Save;

    /// <summary>Commands that run at once inside MULTI instead of being queued (as in Redis).</summary>
    public static bool RunsInMulti(RespCommand command) =>
        command is RespCommand.Exec or RespCommand.Discard or RespCommand.Multi or RespCommand.Quit;

    /// <summary>What may run before AUTH when a token is configured.</summary>
    public static bool AllowedBeforeAuth(RespCommand command) => command is RespCommand.Auth or RespCommand.Hello or RespCommand.Quit;

    /// <summary>Matches the verb case-insensitively: first on length, then on the bytes.</summary>
    public static RespCommand Lookup(ReadOnlySpan<byte> verb)
    {
        static bool Eq(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) => System.Text.Ascii.EqualsIgnoreCase(a, b);
        switch (verb.Length)
        {
            case 4:
                if (Eq(verb, "RANK"u8)) return RespCommand.Rank;
                if (Eq(verb, "PING"u8)) return RespCommand.Ping;
                if (Eq(verb, "INFO"u8)) return RespCommand.Info;
                if (Eq(verb, "AUTH"u8)) return RespCommand.Auth;
                if (Eq(verb, "QUIT"u8)) return RespCommand.Quit;
                if (Eq(verb, "SAVE"u8)) return RespCommand.Save;
                if (Eq(verb, "ECHO"u8)) return RespCommand.Echo;
                if (Eq(verb, "EXEC"u8)) return RespCommand.Exec;
                break;
            case 5:
                if (Eq(verb, "SCORE"u8)) return RespCommand.Score;
                if (Eq(verb, "HELLO"u8)) return RespCommand.Hello;
                if (Eq(verb, "MULTI"u8)) return RespCommand.Multi;
                break;
            case 6:
                if (Eq(verb, "ENCODE"u8)) return RespCommand.Encode;
                if (Eq(verb, "SELECT"u8)) return RespCommand.Select;
                if (Eq(verb, "CLIENT"u8)) return RespCommand.Client;
                if (Eq(verb, "CONFIG"u8)) return RespCommand.Config;
                if (Eq(verb, "DBSIZE"u8)) return RespCommand.DbSize;
                break;
            case 7:
                if (Eq(verb, "COMMAND"u8)) return RespCommand.Command;
                if (Eq(verb, "DISCARD"u8)) return RespCommand.Discard;
                break;
            case 8:
                if (Eq(verb, "ITEM.ADD"u8)) return RespCommand.ItemAdd;
                if (Eq(verb, "ITEM.GET"u8)) return RespCommand.ItemGet;
                if (Eq(verb, "ITEM.DEL"u8)) return RespCommand.ItemDel;
                if (Eq(verb, "USER.GET"u8)) return RespCommand.UserGet;
                break;
            case 10:
                if (Eq(verb, "USER.EVENT"u8)) return RespCommand.UserEvent;
                break;
            case 11:
                if (Eq(verb, "ITEM.ADDVEC"u8)) return RespCommand.ItemAddVec;
                break;
        }
        return RespCommand.None;
    }
}
