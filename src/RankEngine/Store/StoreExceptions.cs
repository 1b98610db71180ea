namespace RankEngine.Store;

/// <summary>The data directory is already open by another process or another <see cref="RankStore"/> in this process.</summary>
public sealed class StoreLockedException : IOException
{
    /// <summary>Creates the exception.</summary>
    public StoreLockedException(string directory, string message, Exception? inner = null) : base(message, inner) => Directory = directory;

    /// <summary>The directory that is locked.</summary>
    public string Directory { get; }
}

/// <summary>The schema given at open differs from the schema the data directory was created with.</summary>
public sealed class StoreSchemaMismatchException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public StoreSchemaMismatchException(string message) : base(message) { }
}

/// <summary>
/// A write was rejected because the record breaks a schema rule or a <see cref="StoreLimits"/> limit. Nothing was
/// logged or stored.
/// </summary>
public sealed class InvalidRecordException : ArgumentException
{
    /// <summary>Creates the exception.</summary>
    public InvalidRecordException(string message) : base(message) { }
}

/// <summary>The files in the data directory cannot be recovered (damaged, or from an incompatible version).</summary>
public sealed class StoreCorruptException : IOException
{
    /// <summary>Creates the exception.</summary>
    public StoreCorruptException(string message, Exception? inner = null) : base(message, inner) { }
}
