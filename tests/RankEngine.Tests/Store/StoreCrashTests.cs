using System.Diagnostics;
using RankEngine.Store;
using RankEngine.StoreCrashWorker;
using Xunit;
using Xunit.Abstractions;

namespace RankEngine.Tests.Store;

/// <summary>
/// Crash recovery: a child process writes continuously and reports every acknowledged write; the test kills it
/// with SIGKILL at a random moment, reopens the directory, and checks that every acknowledged write is present and
/// intact (byte-exact contents derived from id and version). Three of the four modes compact the hybrid log
/// while writing, so kills also land during compaction and the segment deletion after it. Trial count:
/// RANKSTORE_CRASH_TRIALS (default 24); tools/store-soak.sh runs many more.
/// </summary>
public class StoreCrashTests(ITestOutputHelper output)
{
    private static string WorkerPath => Path.Combine(AppContext.BaseDirectory, "RankEngine.StoreCrashWorker.dll");

    private static Process StartWorker(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(WorkerPath);
        foreach (string a in args)
            start.ArgumentList.Add(a);
        return Process.Start(start) ?? throw new InvalidOperationException("could not start the crash worker");
    }

    private static string WaitForReady(Process worker)
    {
        string? line = worker.StandardOutput.ReadLine();
        if (line is null || !line.StartsWith("READY ", StringComparison.Ordinal))
            throw new InvalidOperationException($"worker did not start: '{line}' {worker.StandardError.ReadToEnd()}");
        return line[6..];
    }

    [Fact]
    public void Every_acknowledged_write_survives_SIGKILL()
    {
        int trials = int.TryParse(Environment.GetEnvironmentVariable("RANKSTORE_CRASH_TRIALS"), out int n) ? n : 24;
        int baseSeed = int.TryParse(Environment.GetEnvironmentVariable("RANKSTORE_CRASH_SEED"), out int s) ? s : Environment.TickCount;
        output.WriteLine($"{trials} trials, seed {baseSeed}");
        var random = new Random(baseSeed);
        long totalAcks = 0;
        int withCheckpoint = 0, withoutCheckpoint = 0, afterCompaction = 0, killsWithCompaction = 0;
        string[] modes = ["timer", "size", "compact", "none"];
        for (int trial = 0; trial < trials; trial++)
        {
            using var dir = new TempDirectory();
            // Half the trials reuse the directory for a second run, so kills also hit a store that recovered once.
            int runs = trial % 2 == 0 ? 1 : 2;
            var model = new CrashModel();
            for (int run = 0; run < runs; run++)
            {
                int killAfterMs = random.Next(150, 1200);
                string mode = modes[trial / 2 % modes.Length]; // each mode gets one-run and two-run trials
                var acks = RunAndKill(dir.Path, baseSeed + trial * 10 + run, killAfterMs, mode, model);
                totalAcks += acks;
                if (mode != "none")
                    killsWithCompaction++;
                var info = model.Verify(dir.Path, mode, out string failure, out bool compacted);
                if (compacted)
                    afterCompaction++;
                Assert.True(failure.Length == 0, $"trial {trial} run {run} (seed {baseSeed}, kill after {killAfterMs} ms): {failure}");
                if (info.FromCheckpoint)
                    withCheckpoint++;
                else
                    withoutCheckpoint++;
                output.WriteLine($"trial {trial}.{run} ({mode}): killed after {killAfterMs} ms, {acks} acks, checked {model.Ids} ids / {model.Events} events; " +
                                 $"recovered checkpoint={info.FromCheckpoint}, compacted={compacted}, replayed {info.ReplayedEntries} log entries");
            }
        }
        Assert.True(totalAcks > trials * 10, $"only {totalAcks} acknowledged writes over {trials} trials: the test would prove little");
        if (trials >= modes.Length)
        {
            Assert.True(withCheckpoint > 0, "no trial recovered from a checkpoint: the checkpoint + log path was not exercised");
            Assert.True(withoutCheckpoint > 0, "every trial recovered from a checkpoint: the pure log-replay path was not exercised");
            Assert.True(afterCompaction > 0, "no trial recovered a compacted log: compaction was not in the loop");
        }
        output.WriteLine($"{killsWithCompaction} kills with compaction running, {afterCompaction} recoveries of a compacted log");
    }

    private static long RunAndKill(string directory, int seed, int killAfterMs, string checkpoints, CrashModel model)
    {
        using var worker = StartWorker("write", directory, seed.ToString(System.Globalization.CultureInfo.InvariantCulture), "3", checkpoints);
        WaitForReady(worker);
        var stdout = worker.StandardOutput.ReadToEndAsync();
        var stderr = worker.StandardError.ReadToEndAsync();
        Thread.Sleep(killAfterMs);
        if (worker.HasExited)
            throw new InvalidOperationException($"worker exited early with {worker.ExitCode}: {stderr.Result}");
        worker.Kill(); // SIGKILL on Unix
        worker.WaitForExit();
        return model.Apply(stdout.Result);
    }

    [Fact]
    public void A_second_process_cannot_open_a_directory_in_use_and_the_lock_dies_with_its_holder()
    {
        using var dir = new TempDirectory();
        using var holder = StartWorker("hold", dir.Path);
        string pid = WaitForReady(holder);
        var e = Assert.Throws<StoreLockedException>(() => RankStore.Open(CrashWorkload.Options(dir.Path)));
        Assert.Contains(Path.GetFullPath(dir.Path), e.Message);
        Assert.Contains($"process {pid}", e.Message);
        holder.Kill();
        holder.WaitForExit();
        using var store = RankStore.Open(CrashWorkload.Options(dir.Path));
        Assert.Equal(0, store.ItemCount);
    }

    /// <summary>
    /// What the worker reported, turned into the states each record may be in: the state after its last
    /// acknowledged operation, or, if the thread's last operation began but was never acknowledged, after that one.
    /// </summary>
    private sealed class CrashModel
    {
        private readonly Dictionary<string, int> _acked = new();          // id → version, or -1 when deleted
        private readonly Dictionary<string, List<int>> _events = new();   // user → acknowledged event numbers
        private readonly Dictionary<string, int> _pendingItem = new();    // id → version (or -1) of an unacknowledged op
        private readonly Dictionary<string, int> _pendingEvent = new();   // user → unacknowledged event number
        public int Ids => _acked.Count;

        public int Events => _events.Values.Sum(e => e.Count);

        /// <summary>Reads the worker's complete lines; returns the number of acknowledgements.</summary>
        public long Apply(string stdout)
        {
            // A new run starts from what the store holds, which the previous Verify pinned down exactly.
            _pendingItem.Clear();
            _pendingEvent.Clear();
            var begun = new Dictionary<string, string[]>();
            long acks = 0;
            int end = stdout.LastIndexOf('\n');
            foreach (string line in stdout[..(end + 1)].Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var parts = line.Split(' ');
                if (parts[0] == "B")
                {
                    begun[parts[1]] = parts;
                }
                else if (parts[0] == "A")
                {
                    var op = begun[parts[1]];
                    begun.Remove(parts[1]);
                    Commit(op, pendingOnly: false);
                    acks++;
                }
            }
            foreach (var op in begun.Values)
                Commit(op, pendingOnly: true);
            return acks;
        }


        private void Commit(string[] op, bool pendingOnly)
        {
            string key = op[3];
            int number = int.Parse(op[4], System.Globalization.CultureInfo.InvariantCulture);
            switch (op[2])
            {
                case "P":
                    (pendingOnly ? _pendingItem : _acked)[key] = number;
                    break;
                case "D":
                    (pendingOnly ? _pendingItem : _acked)[key] = -1;
                    break;
                case "E":
                    if (pendingOnly)
                        _pendingEvent[key] = number;
                    else
                        EventsOf(key).Add(number);
                    break;
            }
        }

        private List<int> EventsOf(string user) => _events.TryGetValue(user, out var list) ? list : _events[user] = [];

        /// <summary>Opens the store and checks every record; afterwards the model equals what the store holds.</summary>
        public RecoveryInfo Verify(string directory, string checkpoints, out string failure, out bool compacted)
        {
            failure = "";
            using var store = RankStore.Open(CrashWorkload.Options(directory, checkpoints));
            compacted = store.KvBeginAddress > WriteAheadLog.FirstAddress; // a checkpoint after a compaction was recovered
            var problems = new List<string>();
            foreach (string id in _acked.Keys.Union(_pendingItem.Keys).ToList())
            {
                int acked = _acked.TryGetValue(id, out int a) ? a : -1;
                bool hasPending = _pendingItem.TryGetValue(id, out int pending);
                int actual = -1;
                if (store.TryGetItem(id, out var item))
                {
                    actual = (int)item.Fields["version"].Number;
                    string? diff = Diff(CrashWorkload.Item(id, actual), item);
                    if (diff is not null)
                        problems.Add($"{id} v{actual} is damaged: {diff}");
                }
                if (actual != acked && !(hasPending && actual == pending))
                    problems.Add($"{id}: acknowledged state {Describe(acked)}{(hasPending ? $" (in flight: {Describe(pending)})" : "")}, found {Describe(actual)}");
                _acked[id] = actual;
            }
            foreach (string user in _events.Keys.Union(_pendingEvent.Keys).ToList())
            {
                var acked = EventsOf(user);
                var actual = store.TryGetUser(user, out var u) ? u.Events : [];
                var expectedEvents = acked.Select(CrashWorkload.Event).ToList();
                bool ok = actual.SequenceEqual(expectedEvents);
                if (!ok && _pendingEvent.TryGetValue(user, out int p))
                {
                    ok = actual.SequenceEqual(expectedEvents.Append(CrashWorkload.Event(p)));
                    if (ok)
                        acked.Add(p);
                }
                if (!ok)
                    problems.Add($"{user}: acknowledged events [{string.Join(",", acked)}], found [{string.Join(",", actual.Select(e => e.ItemId))}]");
            }
            // The catalog mirror agrees with the store.
            int live = _acked.Values.Count(v => v >= 0);
            if (store.ItemCount != live)
                problems.Add($"catalog has {store.ItemCount} items, the store {live}");
            failure = string.Join("; ", problems.Take(10));
            return store.Recovery;
        }

        private static string Describe(int version) => version < 0 ? "absent" : $"v{version}";

        private static string? Diff(ItemRecord expected, ItemRecord actual)
        {
            if (expected.Text != actual.Text)
                return "text";
            if (expected.Vectors.Count != actual.Vectors.Count)
                return "vector count";
            foreach (var (name, v) in expected.Vectors)
            {
                var want = name == "collab" ? v.Select(x => (float)(Half)x).ToArray() : v;
                if (!actual.Vectors.TryGetValue(name, out var got) || !want.SequenceEqual(got))
                    return "vector " + name;
            }
            if (!expected.Fields["tags"].Equals(actual.Fields["tags"]))
                return "tags";
            return null;
        }
    }
}
