using RankEngine.Store;
using RankEngine.StoreCrashWorker;

// Usage:
//   write <dir> <seed> <threads> <timer|size|compact|none>
//                                  open the store (checkpoint mode, see CrashWorkload.Options), print READY, then write until killed. Each writer thread prints
//                                  "B <thread> P|D|E <id> <n>" before an operation and "A <thread>" only after the
//                                  store call returned (the write is durable), flushed line by line.
//   hold <dir>                     open the store, print READY, keep it open until stdin closes.
if (args.Length < 2)
{
    Console.Error.WriteLine("usage: write <dir> <seed> <threads> <timer|size|compact|none> | hold <dir>");
    return 2;
}

var output = Console.Out; // synchronized, auto-flushed: one write(2) per line
using var store = RankStore.Open(CrashWorkload.Options(args[1], args.Length > 4 ? args[4] : "timer"));
if (args[0] == "hold")
{
    output.WriteLine("READY " + Environment.ProcessId);
    Console.In.ReadToEnd();
    return 0;
}

int seed = int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture);
int threadCount = int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture);
output.WriteLine("READY " + Environment.ProcessId);
var threads = new Thread[threadCount];
for (int t = 0; t < threadCount; t++)
{
    int thread = t;
    threads[t] = new Thread(() => Writer(store, thread, new Random(seed * 1000 + thread), output));
    threads[t].Start();
}
foreach (var thread in threads)
    thread.Join();
return 0;

static void Writer(RankStore store, int thread, Random random, TextWriter output)
{
    // Each thread owns its ids ("t<thread>-<k>") and one user, so its operations on them are sequential and at
    // most one (the last "B" without an "A") is in flight when the process dies.
    var versions = new List<int>(); // last version written per own id (deletes keep it, so re-creations get new versions)
    string user = $"user-{thread}";
    int events = 0;
    for (long n = 0; ; n++)
    {
        int dice = random.Next(100);
        if (dice < 55 || versions.Count == 0)
        {
            string id = $"t{thread}-{versions.Count}";
            output.WriteLine($"B {thread} P {id} 0");
            store.UpsertItem(CrashWorkload.Item(id, 0));
            versions.Add(0);
        }
        else if (dice < 80)
        {
            int k = random.Next(versions.Count);
            int version = versions[k] + 1; // re-creates a deleted id, too
            string id = $"t{thread}-{k}";
            output.WriteLine($"B {thread} P {id} {version}");
            store.UpsertItem(CrashWorkload.Item(id, version));
            versions[k] = version;
        }
        else if (dice < 90)
        {
            int k = random.Next(versions.Count);
            string id = $"t{thread}-{k}";
            output.WriteLine($"B {thread} D {id} {versions[k]}");
            store.DeleteItem(id); // false for an id already deleted: still an acknowledged (no-op) delete
        }
        else
        {
            output.WriteLine($"B {thread} E {user} {events}");
            store.AppendUserEvent(user, CrashWorkload.Event(events));
            events++;
        }
        output.WriteLine($"A {thread}");
    }
}
