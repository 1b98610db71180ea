using System.Diagnostics;

namespace RankEngine.Server.Metrics;

/// <summary>Process and .NET runtime metrics under the usual Prometheus names (process_*, dotnet_*).</summary>
internal static class RuntimeMetrics
{
    private static readonly double StartTimeSeconds = new DateTimeOffset(Process.GetCurrentProcess().StartTime.ToUniversalTime()).ToUnixTimeMilliseconds() / 1000.0;

    public static void Write(PrometheusWriter w)
    {
        using var process = Process.GetCurrentProcess();
        w.Counter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", process.TotalProcessorTime.TotalSeconds);
        w.Gauge("process_resident_memory_bytes", "Resident memory size in bytes.", process.WorkingSet64);
        w.Gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", process.VirtualMemorySize64);
        w.Gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", StartTimeSeconds);
        w.Gauge("process_num_threads", "Operating-system threads of the process.", process.Threads.Count);
        if (Directory.Exists("/proc/self/fd"))
            w.Gauge("process_open_fds", "Number of open file descriptors.", Directory.GetFileSystemEntries("/proc/self/fd").Length);

        w.Family("dotnet_gc_collections_total", "counter", "Garbage collections, by generation.");
        for (int g = 0; g <= GC.MaxGeneration; g++) w.Sample("dotnet_gc_collections_total", $"generation=\"{g}\"", GC.CollectionCount(g));
        var info = GC.GetGCMemoryInfo();
        w.Gauge("dotnet_gc_heap_size_bytes", "Managed heap size after the last collection.", info.HeapSizeBytes);
        w.Gauge("dotnet_gc_committed_bytes", "Memory committed by the garbage collector.", info.TotalCommittedBytes);
        w.Counter("dotnet_gc_allocated_bytes_total", "Bytes allocated on the managed heap since start.", GC.GetTotalAllocatedBytes());
        w.Counter("dotnet_gc_pause_seconds_total", "Time the runtime was paused for garbage collection.", GC.GetTotalPauseDuration().TotalSeconds);
        w.Gauge("dotnet_threadpool_threads", "Thread-pool threads.", ThreadPool.ThreadCount);
        w.Gauge("dotnet_threadpool_queue_length", "Work items queued to the thread pool, not started.", ThreadPool.PendingWorkItemCount);
        w.Counter("dotnet_threadpool_completed_items_total", "Thread-pool work items completed.", ThreadPool.CompletedWorkItemCount);
        w.Counter("dotnet_monitor_lock_contentions_total", "Times a thread had to wait for a monitor lock.", Monitor.LockContentionCount);
    }
}
