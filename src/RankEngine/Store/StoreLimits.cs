namespace RankEngine.Store;

/// <summary>
/// Hard limits on what the store accepts. Every write is checked against them before anything is logged or stored,
/// so a rejected write leaves the store unchanged. Changing a limit never changes the persisted format.
/// </summary>
internal static class StoreLimits
{
    /// <summary>Longest item or user id, in UTF-8 bytes.</summary>
    public const int MaxIdBytes = 256;

    /// <summary>Most vector names a schema may declare.</summary>
    public const int MaxVectorNames = 32;

    /// <summary>Longest vector name, in ASCII characters.</summary>
    public const int MaxVectorNameLength = 64;

    /// <summary>Largest dimension of one named vector.</summary>
    public const int MaxDimension = 16_384;

    /// <summary>Most typed fields on one item.</summary>
    public const int MaxFields = 64;

    /// <summary>Longest field name, in UTF-8 bytes.</summary>
    public const int MaxFieldNameBytes = 64;

    /// <summary>Longest string field value, in UTF-8 bytes.</summary>
    public const int MaxStringFieldBytes = 4_096;

    /// <summary>Most tags in one tags field.</summary>
    public const int MaxTags = 256;

    /// <summary>Longest single tag, in UTF-8 bytes.</summary>
    public const int MaxTagBytes = 256;

    /// <summary>Longest item text, in UTF-8 bytes.</summary>
    public const int MaxTextBytes = 64 * 1024;

    /// <summary>Upper bound for <see cref="StoreOptions.MaxUserEvents"/>.</summary>
    public const int MaxUserEventsCap = 4_096;

    /// <summary>Largest encoded record (key + value); it must fit one page of the store's logs.</summary>
    public const int MaxEncodedRecordBytes = 2 * 1024 * 1024;
}
