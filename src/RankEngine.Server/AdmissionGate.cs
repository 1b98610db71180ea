namespace RankEngine.Server;

/// <summary>
/// Bounds how many engine calls run at once over all connections. A request takes a slot before its engine call and
/// gives it back after; one that finds none waits (asynchronously, in arrival order) until its deadline, then is
/// answered BUSY. With a bounded number of connections this bounds both memory and queueing delay.
/// </summary>
internal sealed class AdmissionGate : IDisposable
{
    private readonly SemaphoreSlim _slots;

    public AdmissionGate(int maxInFlight)
    {
        Capacity = maxInFlight;
        _slots = new SemaphoreSlim(maxInFlight, maxInFlight);
    }

    /// <summary>Most engine calls at once.</summary>
    public int Capacity { get; }

    /// <summary>Engine calls running now.</summary>
    public int InFlight => Capacity - _slots.CurrentCount;

    /// <summary>Takes a slot if one is free now.</summary>
    public bool TryEnter() => _slots.Wait(0);

    /// <summary>Requests waiting for a slot now (the queue depth).</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    private int _waiting;

    /// <summary>Waits for a slot; false when <paramref name="timeout"/> passed first.</summary>
    public async Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellation)
    {
        Interlocked.Increment(ref _waiting);
        try
        {
            return await _slots.WaitAsync(timeout, cancellation).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
    }

    /// <summary>Gives a slot back.</summary>
    public void Exit() => _slots.Release();

    public void Dispose() => _slots.Dispose();
}
