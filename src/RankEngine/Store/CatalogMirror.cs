using System.Buffers.Binary;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace RankEngine.Store;

/// <summary>
/// A dense, row-major copy of every item's vectors, one matrix per schema vector name, plus the row → id table and
/// the id → row map: the form a scorer scans and a device upload copies in one go. Built from the store at open and
/// kept in step with every item upsert and delete.
/// </summary>
/// <remarks>
/// <para>Rows: an upsert of a known id overwrites its row; a new id appends a row; a delete leaves a tombstone (id
/// null, live bit clear, vectors zeroed) so row numbers stay stable. <see cref="Compact"/> rebuilds densely and bumps
/// <see cref="Version"/>.</para>
/// <para>Device copies: <see cref="TakeChanges"/> returns the rows changed since the last call, or
/// <see cref="CatalogChanges.FullReload"/> after a compaction (or the initial build), so a device copy uploads only
/// what changed.</para>
/// <para>Views: every matrix has an fp32 view; fp16 schema vectors also have their exact fp16 matrix, and fp32
/// vectors get an fp16 copy when <see cref="StoreOptions.MirrorFp16"/> is set.</para>
/// <para>Threading: readers take <see cref="EnterRead"/> (a shared lock, held while the spans are used); writers
/// take the exclusive lock for one row at a time.</para>
/// </remarks>
public sealed class CatalogMirror
{
    private const int InitialCapacity = 1024;

    private readonly StoreSchema _schema;
    private readonly bool[] _hasFp16;
    private readonly ReaderWriterLockSlim _lock = new(LockRecursionPolicy.NoRecursion);
    private readonly Dictionary<string, int> _rowById = new(StringComparer.Ordinal);

    private string?[] _ids = new string?[InitialCapacity];
    private ulong[] _live = new ulong[InitialCapacity / 64];
    private float[][] _fp32;
    private Half[]?[] _fp16;
    private ulong[][] _present;
    private ulong[] _dirtyBits = new ulong[InitialCapacity / 64];
    private readonly List<int> _dirtyRows = [];
    private bool _fullReload = true;
    private int _capacity = InitialCapacity;
    private int _rowCount;
    private int _liveCount;
    private long _version;
    private long _changeCount;

    internal CatalogMirror(StoreSchema schema, bool fp16ForFp32)
    {
        _schema = schema;
        int n = schema.Count;
        _hasFp16 = new bool[n];
        _fp32 = new float[n][];
        _fp16 = new Half[]?[n];
        _present = new ulong[n][];
        for (int s = 0; s < n; s++)
        {
            _hasFp16[s] = fp16ForFp32 || schema.Vectors[s].ElementType == VectorElementType.Float16;
            AllocateSlot(s, InitialCapacity);
        }
    }

    /// <summary>The schema the matrices follow.</summary>
    public StoreSchema Schema => _schema;

    /// <summary>Layout version: bumped by every compaction (row numbers changed, a device copy must reload).</summary>
    public long Version { get { _lock.EnterReadLock(); try { return _version; } finally { _lock.ExitReadLock(); } } }

    /// <summary>Number of items (live rows).</summary>
    public int Count { get { _lock.EnterReadLock(); try { return _liveCount; } finally { _lock.ExitReadLock(); } } }

    /// <summary>Rows in use, live or tombstone.</summary>
    public int RowCount { get { _lock.EnterReadLock(); try { return _rowCount; } finally { _lock.ExitReadLock(); } } }

    /// <summary>Rows that are tombstones (removed until the next <see cref="Compact"/>).</summary>
    public int TombstoneCount { get { _lock.EnterReadLock(); try { return _rowCount - _liveCount; } finally { _lock.ExitReadLock(); } } }

    /// <summary>Count of row changes since creation (upserts, deletes, compactions); handy to notice staleness.</summary>
    public long ChangeCount => Interlocked.Read(ref _changeCount);

    /// <summary>
    /// Takes the shared lock and returns a view of the matrices; dispose it to release the lock. Writers to the store
    /// wait while a view is open, so keep it for one scan, not longer.
    /// </summary>
    public CatalogView EnterRead()
    {
        _lock.EnterReadLock();
        return new CatalogView(this);
    }

    /// <summary>
    /// Returns what changed since the previous call and starts a new change set: the rows written (upserted or
    /// tombstoned), or <see cref="CatalogChanges.FullReload"/> when the layout changed (first call, compaction).
    /// </summary>
    public CatalogChanges TakeChanges()
    {
        _lock.EnterWriteLock();
        try
        {
            var rows = _fullReload ? [] : _dirtyRows.ToArray();
            var changes = new CatalogChanges(_version, _fullReload, _rowCount, rows) { ChangeCount = _changeCount };
            foreach (int row in _dirtyRows)
                _dirtyBits[row >> 6] &= ~(1UL << (row & 63));
            _dirtyRows.Clear();
            _fullReload = false;
            return changes;
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>
    /// Rebuilds the matrices densely without tombstones, keeping live rows in their current order, and bumps
    /// <see cref="Version"/>. Returns the number of tombstones removed (0: nothing was done).
    /// </summary>
    public int Compact()
    {
        _lock.EnterWriteLock();
        try
        {
            int removed = _rowCount - _liveCount;
            if (removed == 0)
                return 0;
            int newCapacity = Math.Max(InitialCapacity, RoundUp64(_liveCount + _liveCount / 8));
            var ids = new string?[newCapacity];
            var live = new ulong[newCapacity / 64];
            var fp32 = new float[_schema.Count][];
            var fp16 = new Half[]?[_schema.Count];
            var present = new ulong[_schema.Count][];
            for (int s = 0; s < _schema.Count; s++)
            {
                int dim = _schema.Vectors[s].Dimension;
                fp32[s] = GC.AllocateArray<float>(checked(newCapacity * dim), pinned: true);
                fp16[s] = _hasFp16[s] ? GC.AllocateArray<Half>(newCapacity * dim, pinned: true) : null;
                present[s] = new ulong[newCapacity / 64];
            }
            int to = 0;
            for (int from = 0; from < _rowCount; from++)
            {
                string? id = _ids[from];
                if (id is null)
                    continue;
                ids[to] = id;
                live[to >> 6] |= 1UL << (to & 63);
                _rowById[id] = to;
                for (int s = 0; s < _schema.Count; s++)
                {
                    int dim = _schema.Vectors[s].Dimension;
                    _fp32[s].AsSpan(from * dim, dim).CopyTo(fp32[s].AsSpan(to * dim, dim));
                    if (fp16[s] is { } h)
                        _fp16[s]!.AsSpan(from * dim, dim).CopyTo(h.AsSpan(to * dim, dim));
                    if ((_present[s][from >> 6] & (1UL << (from & 63))) != 0)
                        present[s][to >> 6] |= 1UL << (to & 63);
                }
                to++;
            }
            _ids = ids;
            _live = live;
            _fp32 = fp32;
            _fp16 = fp16;
            _present = present;
            _capacity = newCapacity;
            _rowCount = to;
            _dirtyBits = new ulong[newCapacity / 64];
            _dirtyRows.Clear();
            _fullReload = true;
            _version++;
            _changeCount++;
            return removed;
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>
    /// Throws when the calling thread holds a <see cref="CatalogView"/>: a write would have to update the mirror
    /// under its exclusive lock and would deadlock (or, with a non-recursive lock, fail half-way).
    /// </summary>
    internal void ThrowIfReadHeldByCurrentThread()
    {
        if (_lock.IsReadLockHeld)
            throw new InvalidOperationException("This thread holds a CatalogMirror view (EnterRead); dispose it before writing to the store.");
    }

    /// <summary>Reserves room for <paramref name="rows"/> rows (used before the start-up build).</summary>
    internal void EnsureCapacity(int rows)
    {
        _lock.EnterWriteLock();
        try
        {
            Grow(rows);
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>Writes an item's row from its encoded value (the item layout), appending a row for a new id.</summary>
    internal void Upsert(string id, ReadOnlySpan<byte> value)
    {
        _lock.EnterWriteLock();
        try
        {
            if (!_rowById.TryGetValue(id, out int row))
            {
                if (_rowCount == _capacity)
                    Grow(_capacity + Math.Max(InitialCapacity, _capacity / 2));
                row = _rowCount++;
                _rowById.Add(id, row);
                _ids[row] = id;
                _live[row >> 6] |= 1UL << (row & 63);
                _liveCount++;
            }
            int slotCount = BinaryPrimitives.ReadUInt16LittleEndian(value[RecordLayout.SlotCountOffset..]);
            for (int s = 0; s < _schema.Count; s++)
            {
                var spec = _schema.Vectors[s];
                var fp32Row = _fp32[s].AsSpan(row * spec.Dimension, spec.Dimension);
                var fp16Row = _fp16[s] is { } h ? h.AsSpan(row * spec.Dimension, spec.Dimension) : default;
                int offset = s < slotCount ? (int)BinaryPrimitives.ReadUInt32LittleEndian(value[(RecordLayout.SlotTableOffset + 4 * s)..]) : 0;
                ref ulong presentWord = ref _present[s][row >> 6];
                if (offset == 0)
                {
                    fp32Row.Clear();
                    fp16Row.Clear();
                    presentWord &= ~(1UL << (row & 63));
                    continue;
                }
                var source = value.Slice(offset, spec.StoredBytes);
                if (spec.ElementType == VectorElementType.Float32)
                {
                    MemoryMarshal.Cast<byte, float>(source).CopyTo(fp32Row);
                    if (!fp16Row.IsEmpty)
                        TensorPrimitives.ConvertToHalf(fp32Row, fp16Row);
                }
                else
                {
                    MemoryMarshal.Cast<byte, Half>(source).CopyTo(fp16Row);
                    TensorPrimitives.ConvertToSingle(fp16Row, fp32Row);
                }
                presentWord |= 1UL << (row & 63);
            }
            MarkDirty(row);
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>Turns an id's row into a tombstone; false when the id has no row.</summary>
    internal bool Remove(string id)
    {
        _lock.EnterWriteLock();
        try
        {
            if (!_rowById.Remove(id, out int row))
                return false;
            _ids[row] = null;
            _live[row >> 6] &= ~(1UL << (row & 63));
            _liveCount--;
            for (int s = 0; s < _schema.Count; s++)
            {
                int dim = _schema.Vectors[s].Dimension;
                _fp32[s].AsSpan(row * dim, dim).Clear();
                _fp16[s]?.AsSpan(row * dim, dim).Clear();
                _present[s][row >> 6] &= ~(1UL << (row & 63));
            }
            MarkDirty(row);
            return true;
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>True when the id has a live row.</summary>
    public bool Contains(string id)
    {
        _lock.EnterReadLock();
        try
        {
            return _rowById.ContainsKey(id);
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    private void MarkDirty(int row)
    {
        _changeCount++;
        if (_fullReload)
            return;
        ref ulong word = ref _dirtyBits[row >> 6];
        ulong bit = 1UL << (row & 63);
        if ((word & bit) == 0)
        {
            word |= bit;
            _dirtyRows.Add(row);
        }
    }

    private void Grow(int rows)
    {
        if (rows <= _capacity)
            return;
        int newCapacity = RoundUp64(rows);
        Array.Resize(ref _ids, newCapacity);
        Array.Resize(ref _live, newCapacity / 64);
        Array.Resize(ref _dirtyBits, newCapacity / 64);
        for (int s = 0; s < _schema.Count; s++)
        {
            var oldFp32 = _fp32[s];
            var oldFp16 = _fp16[s];
            var oldPresent = _present[s];
            AllocateSlot(s, newCapacity);
            int used = _rowCount * _schema.Vectors[s].Dimension;
            oldFp32.AsSpan(0, used).CopyTo(_fp32[s]);
            oldFp16?.AsSpan(0, used).CopyTo(_fp16[s]);
            oldPresent.CopyTo(_present[s], 0);
        }
        _capacity = newCapacity;
    }

    private void AllocateSlot(int slot, int capacity)
    {
        int dim = _schema.Vectors[slot].Dimension;
        long elements = (long)capacity * dim;
        if (elements > Array.MaxLength)
            throw new InvalidOperationException($"The catalog mirror of vector '{_schema.Vectors[slot].Name}' would need {elements} elements, more than one array can hold ({Array.MaxLength}); split the catalog into shards.");
        // Pinned (pinned object heap): device uploads and native scorers can use the address directly.
        _fp32[slot] = GC.AllocateArray<float>((int)elements, pinned: true);
        _fp16[slot] = _hasFp16[slot] ? GC.AllocateArray<Half>((int)elements, pinned: true) : null;
        _present[slot] = new ulong[capacity / 64];
    }

    private static int RoundUp64(int n) => (n + 63) & ~63;

    /// <summary>A read-locked view of the mirror; every span is valid until <see cref="Dispose"/>.</summary>
    public readonly struct CatalogView : IDisposable
    {
        private readonly CatalogMirror _mirror;

        internal CatalogView(CatalogMirror mirror) => _mirror = mirror;

        /// <summary>Rows in use (live and tombstone); matrices have this many rows.</summary>
        public int RowCount => _mirror._rowCount;

        /// <summary>Live rows.</summary>
        public int LiveCount => _mirror._liveCount;

        /// <summary>Layout version (see <see cref="CatalogMirror.Version"/>).</summary>
        public long Version => _mirror._version;

        /// <summary>Row changes so far (see <see cref="CatalogMirror.ChangeCount"/>); equal to a <see cref="CatalogChanges.ChangeCount"/> means nothing changed since.</summary>
        public long ChangeCount => _mirror._changeCount;

        /// <summary>Row → id; null for a tombstone.</summary>
        public ReadOnlySpan<string?> Ids => _mirror._ids.AsSpan(0, _mirror._rowCount);

        /// <summary>Live bitset: bit r of word r/64 is set when row r is an item (not a tombstone).</summary>
        public ReadOnlySpan<ulong> LiveBits => _mirror._live.AsSpan(0, (_mirror._rowCount + 63) / 64);

        /// <summary>True when row <paramref name="row"/> is live.</summary>
        public bool IsLive(int row) => (uint)row < (uint)_mirror._rowCount && (_mirror._live[row >> 6] & (1UL << (row & 63))) != 0;

        /// <summary>The row of an id; false when the id is not in the catalog.</summary>
        public bool TryGetRow(string id, out int row) => _mirror._rowById.TryGetValue(id, out row);

        /// <summary>Dimension of a vector name.</summary>
        public int Dimension(string vectorName) => _mirror._schema.Vectors[_mirror._schema.GetSlot(vectorName)].Dimension;

        /// <summary>The fp32 matrix of a vector name: <see cref="RowCount"/> × dimension, row-major. Rows without that vector (and tombstones) are zero.</summary>
        public ReadOnlySpan<float> Matrix(string vectorName)
        {
            int slot = _mirror._schema.GetSlot(vectorName);
            return _mirror._fp32[slot].AsSpan(0, _mirror._rowCount * _mirror._schema.Vectors[slot].Dimension);
        }

        /// <summary>True when an fp16 matrix exists for the name (fp16 schema vectors, or <see cref="StoreOptions.MirrorFp16"/>).</summary>
        public bool HasFp16(string vectorName) => _mirror._hasFp16[_mirror._schema.GetSlot(vectorName)];

        /// <summary>The fp16 matrix of a vector name, laid out like <see cref="Matrix"/>; throws when <see cref="HasFp16"/> is false.</summary>
        public ReadOnlySpan<Half> MatrixFp16(string vectorName)
        {
            int slot = _mirror._schema.GetSlot(vectorName);
            var h = _mirror._fp16[slot] ?? throw new InvalidOperationException($"Vector '{vectorName}' is fp32 and the mirror keeps no fp16 copy; open the store with StoreOptions.MirrorFp16 = true.");
            return h.AsSpan(0, _mirror._rowCount * _mirror._schema.Vectors[slot].Dimension);
        }

        /// <summary>True when row <paramref name="row"/> has a vector under <paramref name="vectorName"/>.</summary>
        public bool HasVector(int row, string vectorName)
        {
            int slot = _mirror._schema.GetSlot(vectorName);
            return (uint)row < (uint)_mirror._rowCount && (_mirror._present[slot][row >> 6] & (1UL << (row & 63))) != 0;
        }

        /// <summary>Releases the shared lock.</summary>
        public void Dispose() => _mirror?._lock.ExitReadLock();
    }
}

/// <summary>What changed in a <see cref="CatalogMirror"/> since the previous <see cref="CatalogMirror.TakeChanges"/>.</summary>
/// <param name="Version">Layout version the rows refer to.</param>
/// <param name="FullReload">True: re-upload every matrix (first call, or the layout changed); <paramref name="DirtyRows"/> is empty.</param>
/// <param name="RowCount">Rows in use now.</param>
/// <param name="DirtyRows">Rows written since the last call (upserted or tombstoned), each once, in first-change order.</param>
public sealed record CatalogChanges(long Version, bool FullReload, int RowCount, int[] DirtyRows)
{
    /// <summary>The mirror's <see cref="CatalogMirror.ChangeCount"/> when these changes were taken.</summary>
    public long ChangeCount { get; init; }
}
