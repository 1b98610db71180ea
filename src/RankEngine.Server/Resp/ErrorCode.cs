namespace RankEngine.Server.Resp;

/// <summary>The code word that starts every error reply (<c>-CODE message</c>); also the label of the error metric.</summary>
public enum ErrorCode : byte
{
    /// <summary>Generic error: unknown command, wrong arity, protocol error, internal failure.</summary>
    Err,
    /// <summary>Authentication is required, or the token was wrong.</summary>
    NoAuth,
    /// <summary>The server is overloaded (no free slot before the request's deadline, or too many connections).</summary>
    Busy,
    /// <summary>A request exceeds a limit (frame, argument, text, k, candidates…).</summary>
    TooLarge,
    /// <summary>The item or user does not exist.</summary>
    NotFound,
    /// <summary>An argument is malformed (not a number, NaN, invalid UTF-8, wrong dimension, unknown option…).</summary>
    BadArg,
    /// <summary>HELLO asked for a protocol version other than 2 or 3 (Redis's word).</summary>
    NoProto,
    /// <summary>EXEC after a command was refused while queuing: nothing of the transaction ran (Redis's word).</summary>
    ExecAbort,
    /// <summary>AUTH or HELLO … AUTH with a wrong token (Redis' reply word for a wrong password).</summary>
    WrongPass,
}

/// <summary>Wire words of <see cref="ErrorCode"/>.</summary>
public static class ErrorCodes
{
    /// <summary>Number of codes (for per-code counters).</summary>
    public const int Count = 9;

    /// <summary>The code word as sent on the wire, e.g. <c>TOOLARGE</c>.</summary>
    public static string Word(ErrorCode code) => code switch
    {
        ErrorCode.Err => "ERR",
        ErrorCode.NoAuth => "NOAUTH",
        ErrorCode.Busy => "BUSY",
        ErrorCode.TooLarge => "TOOLARGE",
        ErrorCode.NotFound => "NOTFOUND",
        ErrorCode.BadArg => "BADARG",
        ErrorCode.NoProto => "NOPROTO",
        ErrorCode.ExecAbort => "EXECABORT",
        ErrorCode.WrongPass => "WRONGPASS",
        _ => throw new ArgumentOutOfRangeException(nameof(code), code, null),
    };

    internal static ReadOnlySpan<byte> WordUtf8(ErrorCode code) => code switch
    {
        ErrorCode.Err => "ERR"u8,
        ErrorCode.NoAuth => "NOAUTH"u8,
        ErrorCode.Busy => "BUSY"u8,
        ErrorCode.TooLarge => "TOOLARGE"u8,
        ErrorCode.NotFound => "NOTFOUND"u8,
        ErrorCode.NoProto => "NOPROTO"u8,
        ErrorCode.ExecAbort => "EXECABORT"u8,
        ErrorCode.WrongPass => "WRONGPASS"u8,
        _ => "BADARG"u8,
    };
}

/// <summary>
/// A request cannot be served; the session answers <c>-CODE message</c> and goes on with the next request. Thrown by
/// argument parsing and engine adapters (not on the success path).
/// </summary>
internal sealed class RespCommandException(ErrorCode code, string message) : Exception(message)
{
    public ErrorCode Code { get; } = code;
}
