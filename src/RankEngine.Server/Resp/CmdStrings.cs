namespace RankEngine.Server.Resp;

/// <summary>Wire words and fixed replies, as UTF-8 literals (no allocation, no encoding at run time).</summary>
internal static class CmdStrings
{
    public static ReadOnlySpan<byte> Ok => "+OK\r\n"u8;
    public static ReadOnlySpan<byte> Pong => "+PONG\r\n"u8;
    public static ReadOnlySpan<byte> Crlf => "\r\n"u8;
    public static ReadOnlySpan<byte> NullBulk2 => "$-1\r\n"u8;
    public static ReadOnlySpan<byte> Null3 => "_\r\n"u8;

    // RANK / SCORE reply keys.
    public static ReadOnlySpan<byte> Strategy => "strategy"u8;
    public static ReadOnlySpan<byte> Bucket => "bucket"u8;
    public static ReadOnlySpan<byte> Explanation => "explanation"u8;
    public static ReadOnlySpan<byte> Unknown => "unknown"u8;
    public static ReadOnlySpan<byte> Coverage => "coverage"u8;
    public static ReadOnlySpan<byte> Items => "items"u8;
    public static ReadOnlySpan<byte> Personalized => "personalized"u8;
    public static ReadOnlySpan<byte> QueryOnly => "query"u8;
    public static ReadOnlySpan<byte> Popularity => "popularity"u8;

    // RANK options.
    public static ReadOnlySpan<byte> K => "K"u8;
    public static ReadOnlySpan<byte> Query => "QUERY"u8;
    public static ReadOnlySpan<byte> Candidates => "CANDIDATES"u8;
    public static ReadOnlySpan<byte> Diversity => "DIVERSITY"u8;
    public static ReadOnlySpan<byte> Filter => "FILTER"u8;
    public static ReadOnlySpan<byte> Boost => "BOOST"u8;
    public static ReadOnlySpan<byte> ExcludeSeen => "EXCLUDE_SEEN"u8;
    public static ReadOnlySpan<byte> ContentWeight => "CONTENT_WEIGHT"u8;
    public static ReadOnlySpan<byte> CollabWeight => "COLLAB_WEIGHT"u8;

    // ITEM.ADD options.
    public static ReadOnlySpan<byte> Field => "FIELD"u8;
    public static ReadOnlySpan<byte> Str => "STR"u8;
    public static ReadOnlySpan<byte> Tags => "TAGS"u8;
    public static ReadOnlySpan<byte> Text => "TEXT"u8;
    public static ReadOnlySpan<byte> Collab => "COLLAB"u8;
    public static ReadOnlySpan<byte> WithVectors => "WITHVECTORS"u8;

    // ENCODE options.
    public static ReadOnlySpan<byte> Format => "FORMAT"u8;
    public static ReadOnlySpan<byte> Json => "JSON"u8;
    public static ReadOnlySpan<byte> Blob => "BLOB"u8;

    // HELLO options.
    public static ReadOnlySpan<byte> Auth => "AUTH"u8;
    public static ReadOnlySpan<byte> SetName => "SETNAME"u8;

    public const string ErrNoAuth = "authentication required (AUTH token)";
    public const string ErrBadToken = "invalid username-password pair or user is disabled.";
    public const string ErrNoTokenConfigured = "AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?";
}
