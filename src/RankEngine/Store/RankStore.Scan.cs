namespace RankEngine.Store;

internal sealed partial class RankStore
{
    /// <summary>
    /// Ids of every user in the store, from one pass over the FASTER log (a user written many times appears once;
    /// a deleted one not at all). For training, which reads each user afterwards.
    /// </summary>
    internal List<string> UserIds()
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        _gate.EnterReadLock();
        try
        {
            ThrowIfDisposed();
            var log = _kv.Log;
            using var iterator = log.Scan(log.BeginAddress, log.TailAddress);
            while (iterator.GetNext(out FASTER.core.RecordInfo info))
            {
                if (info.SkipOnScan) continue;
                var key = iterator.GetKey().AsReadOnlySpan();
                if (key.Length < 2 || key[0] != (byte)RecordKind.User) continue;
                string id = StoreKeys.DecodeId(key);
                if (info.Tombstone) ids.Remove(id);
                else ids.Add(id);
            }
        }
        finally
        {
            _gate.ExitReadLock();
        }
        var list = new List<string>(ids.Count);
        foreach (var id in ids) if (TryGetUser(id, out _)) list.Add(id);
        list.Sort(StringComparer.Ordinal);
        return list;
    }
}
