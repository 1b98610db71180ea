namespace RankEngine.Compute.Simd;

/// <summary>
/// Runs independent work items on all cores with an OpenMP-style persistent pool: ProcessorCount − 1 worker threads
/// spin briefly after each parallel region and then sleep, and the calling thread takes items too. An encoder pass
/// issues ~40 small parallel regions per batch (GEMMs, attention, LayerNorm); waking thread-pool threads for each
/// costs tens of microseconds, which dominates small batches. One region runs at a time; a call that finds the pool
/// busy (another thread, or a nested call) falls back to Parallel.For.
/// </summary>
internal static class ParallelRunner
{
    /// <summary>One work item of a parallel loop.</summary>
    public interface IBody
    {
        void Run(int index);
    }

    private interface IWork
    {
        void Run(int index);
    }

    private sealed class Work<T> : IWork where T : struct, IBody
    {
        public T Body;
        public void Run(int index) => Body.Run(index);
    }

    private static readonly ParallelOptions Options = new() { MaxDegreeOfParallelism = Environment.ProcessorCount };
    private static readonly object DispatchLock = new();
    private static readonly SemaphoreSlim Wake = new(0);
    private const int SpinIterations = 20_000; // ~50 µs of PAUSE-spinning before a worker sleeps
    private static Thread[]? _workers;
    private static int _sleeping;

    /// <summary>
    /// One parallel region with its own counters: a worker still holding a finished region only finds it empty, so
    /// it can never run an item of a newer region with an older body.
    /// </summary>
    private sealed class Region
    {
        public required IWork Work;
        public required int Count;
        public int Next;
        public int Remaining;
        public Exception? Error;
    }

    private static Region? _current;  // published before _generation is bumped
    private static int _generation;

    /// <summary>Runs <c>body.Run(i)</c> for i in [0, count), in parallel, and returns when all are done.</summary>
    /// <exception cref="AggregateException">A work item threw (the first exception is inside).</exception>
    public static void For<T>(int count, T body) where T : struct, IBody
    {
        if (count <= 0) return;
        if (count == 1 || Environment.ProcessorCount == 1)
        {
            for (int i = 0; i < count; i++) body.Run(i);
            return;
        }
        if (!Monitor.TryEnter(DispatchLock))
        {
            Parallel.For(0, count, Options, i => body.Run(i));
            return;
        }
        try
        {
            EnsureWorkers();
            var region = new Region { Work = new Work<T> { Body = body }, Count = count, Remaining = count };
            Volatile.Write(ref _current, region);
            Interlocked.Increment(ref _generation);
            int sleeping = Volatile.Read(ref _sleeping);
            if (sleeping > 0) Wake.Release(Math.Min(sleeping, count - 1));
            Drain(region);
            var spin = new SpinWait();
            while (Volatile.Read(ref region.Remaining) > 0) spin.SpinOnce(sleep1Threshold: -1);
            Volatile.Write(ref _current, null);
            if (region.Error is { } e) throw new AggregateException("a parallel work item failed", e);
        }
        finally
        {
            Monitor.Exit(DispatchLock);
        }
    }

    /// <summary>Takes items of <paramref name="region"/> until none are left.</summary>
    private static void Drain(Region region)
    {
        int i;
        while ((i = Interlocked.Increment(ref region.Next) - 1) < region.Count)
        {
            try
            {
                region.Work.Run(i);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref region.Error, e, null);
            }
            Interlocked.Decrement(ref region.Remaining);
        }
    }

    private static void EnsureWorkers()
    {
        if (_workers is not null) return;
        var workers = new Thread[Environment.ProcessorCount - 1];
        for (int w = 0; w < workers.Length; w++)
        {
            workers[w] = new Thread(WorkerLoop) { IsBackground = true, Name = $"rankengine-simd-{w + 1}" };
            workers[w].Start();
        }
        _workers = workers;
    }

    private static void WorkerLoop()
    {
        int seen = Volatile.Read(ref _generation);
        while (true)
        {
            // Spin a little: back-to-back regions (layer after layer) arrive within microseconds.
            int spins = 0;
            while (Volatile.Read(ref _generation) == seen && spins < SpinIterations)
            {
                Thread.SpinWait(8);
                spins++;
            }
            if (Volatile.Read(ref _generation) == seen)
            {
                Interlocked.Increment(ref _sleeping);
                // Re-check after announcing sleep, so a region published meanwhile is not missed.
                if (Volatile.Read(ref _generation) == seen) Wake.Wait();
                Interlocked.Decrement(ref _sleeping);
                if (Volatile.Read(ref _generation) == seen) continue;
            }
            seen = Volatile.Read(ref _generation);
            if (Volatile.Read(ref _current) is { } region) Drain(region);
        }
    }
}
