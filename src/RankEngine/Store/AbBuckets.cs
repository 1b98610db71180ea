using System.Text;

namespace RankEngine.Store;

/// <summary>Deterministic A/B bucket assignment: the same user id always lands in the same bucket, on every machine.</summary>
public static class AbBuckets
{
    /// <summary>
    /// Bucket of a user: FNV-1a 64 of the id's UTF-8 bytes, modulo <paramref name="bucketCount"/>. Stable across
    /// processes and versions (unlike <see cref="string.GetHashCode()"/>), so it is safe to persist.
    /// </summary>
    public static int ForUser(string userId, int bucketCount)
    {
        ArgumentNullException.ThrowIfNull(userId);
        ArgumentOutOfRangeException.ThrowIfLessThan(bucketCount, 1);
        Span<byte> buffer = stackalloc byte[StoreLimits.MaxIdBytes * 3];
        int length = Encoding.UTF8.GetBytes(userId.AsSpan(0, Math.Min(userId.Length, StoreLimits.MaxIdBytes)), buffer);
        ulong hash = 14695981039346656037UL;
        foreach (byte b in buffer[..length])
        {
            hash ^= b;
            hash *= 1099511628211UL;
        }
        return (int)(hash % (ulong)bucketCount);
    }
}
