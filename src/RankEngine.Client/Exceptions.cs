namespace RankEngine.Client;

/// <summary>The server answered with an error reply (<c>-CODE message</c>).</summary>
public sealed class RankEngineServerException : Exception
{
    /// <summary>Creates the exception from the error reply's text.</summary>
    public RankEngineServerException(string reply)
        : base(reply)
    {
        int space = reply.IndexOf(' ');
        Code = space < 0 ? reply : reply[..space];
        ServerMessage = space < 0 ? "" : reply[(space + 1)..];
    }

    /// <summary>The code word: ERR, NOAUTH, BUSY, TOOLARGE, NOTFOUND, BADARG (or another the server sends).</summary>
    public string Code { get; }

    /// <summary>The message after the code word.</summary>
    public string ServerMessage { get; }
}

/// <summary>The connection failed or was closed; every request still pending on it fails with this.</summary>
public sealed class RankEngineConnectionException : IOException
{
    /// <summary>Creates the exception.</summary>
    public RankEngineConnectionException(string message, Exception? inner = null) : base(message, inner) { }
}
