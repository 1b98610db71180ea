using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Hosting;
using RankEngine.Server;
using RankEngine.Server.Hosting;
using RankEngine.Tests.Server;
using RankEngine.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace RankEngine.Tests.Cluster;

/// <summary>
/// A client of the RESP protocol cannot tell a cluster from a single node, except by <c>INFO cluster</c>: the same
/// raw requests, sent over one connection to a server in front of a fresh single-node engine and to one in front of
/// a cluster front end (six durable shard grains on three silos, user grains), get byte-for-byte the same replies —
/// writes, reads, every RANK option, SCORE, errors, transactions, RESP2 and RESP3.
/// </summary>
/// <remarks>
/// What is left out, and why: <c>CLIENT ID/INFO/LIST</c> (connection ids, addresses, ages), <c>CONFIG GET port</c>
/// (each server has its own ephemeral port) and INFO's other sections (process, uptime, counters, the local store's
/// sections) describe the process, not the data; HELLO's <c>id</c> is the connection id, masked for the same reason.
/// Events all carry <c>AT</c>: without it the time is "now", different on each server. The protocol has no TRAIN
/// command (training is <c>rankengine train</c>, which the cluster cannot do yet:
/// <c>ClusterRankingService.Train</c> throws); a RESP client sending <c>TRAIN</c> gets the same unknown-command error
/// from both, which the sequence checks.
/// </remarks>
[Collection(RankingCluster.Collection)]
public sealed class ClusterRespIndistinguishabilityTests(RankingCluster fixture, ITestOutputHelper output) : IClassFixture<RankingCluster>
{
    private const string Prefix = "resp-";
    private const int Items = 150;
    private const int Users = 15;

    private enum Check
    {
        /// <summary>The replies are equal byte for byte.</summary>
        Same,
        /// <summary>Equal once HELLO's connection id is masked.</summary>
        SameButHelloId,
        /// <summary>A DBSIZE: equal as a difference from the first DBSIZE on that server.</summary>
        DbSizeDelta,
    }

    private sealed record Step(string Label, byte[] Request, Check Check = Check.Same);

    [Fact]
    public async Task A_RESP_client_cannot_tell_the_cluster_from_a_single_node_except_by_INFO_cluster()
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        using var dir = new TempDir();
        using var engine = ClusterRankData.SingleNode(dir.Path, 1);
        using var frontEnd = fixture.FrontEnd();
        var options = new RankServerOptions { Port = 0, HttpPort = null };
        using var single = RankServerHost.Build(engine, options);
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddRankEngineServer(_ => frontEnd, options);
        using var cluster = builder.Build();
        await single.StartAsync();
        await cluster.StartAsync();
        try
        {
            var script = Script();
            var one = await RunAsync(single, script);
            var singleTime = watch.Elapsed;
            var many = await RunAsync(cluster, script);
            var clusterTime = watch.Elapsed - singleTime;

            var differences = new List<string>();
            long? base1 = null, baseN = null;
            for (int i = 0; i < script.Count; i++)
            {
                var step = script[i];
                string a = Show(one[i]), b = Show(many[i]);
                bool same = step.Check switch
                {
                    Check.SameButHelloId => MaskHelloId(a) == MaskHelloId(b),
                    Check.DbSizeDelta => DbSize(one[i]) - (base1 ??= DbSize(one[i])) == DbSize(many[i]) - (baseN ??= DbSize(many[i])),
                    _ => one[i].AsSpan().SequenceEqual(many[i]),
                };
                if (!same) differences.Add(Difference(i, step.Label, a, b));
            }
            // Equal replies could still be equally wrong: the single node is fresh, so its DBSIZEs are absolute counts
            // (no delta of 0 on both passes unnoticed), and every default RANK is a ranking of 10 items.
            Assert.Equal(0L, base1!.Value);
            Assert.Equal(Items + 4, DbSize(one[script.FindIndex(s => s.Label == "DBSIZE after adds")]));
            var defaults = Enumerable.Range(0, script.Count).Where(i => script[i].Label.EndsWith(" default", StringComparison.Ordinal)).ToList();
            Assert.Equal(2 * (Users + 2) + 5, defaults.Count);
            foreach (int i in defaults)
                Assert.StartsWith(script[i].Label.Contains("RESP3") ? "%5\r\n$5\r\nitems\r\n*10\r\n" : "*10\r\n$5\r\nitems\r\n*10\r\n", Encoding.UTF8.GetString(one[i]));
            foreach (var d in differences) output.WriteLine(d);
            Assert.True(differences.Count == 0, $"{differences.Count} of {script.Count} replies differ:\n" + string.Join("\n", differences.Take(10)));

            await InfoClusterTellsThemApartAsync(single, cluster);
            output.WriteLine($"{script.Count} requests, replies equal byte for byte ({one.Sum(r => r.Length)} bytes each way); " +
                $"single node {singleTime.TotalSeconds:F1} s (from the test's start), cluster {clusterTime.TotalSeconds:F1} s, {watch.Elapsed.TotalSeconds:F1} s in all");
        }
        finally
        {
            await cluster.StopAsync();
            await single.StopAsync();
        }
    }

    /// <summary>INFO cluster: empty on the single node, the cluster's section on the front end — the one way to tell them apart.</summary>
    private static async Task InfoClusterTellsThemApartAsync(IHost single, IHost cluster)
    {
        using var a = await ConnectAsync(single);
        using var b = await ConnectAsync(cluster);
        await a.SendCommandAsync("INFO", "cluster");
        Assert.Equal("$0\r\n\r\n", Encoding.UTF8.GetString(await a.ReadReplyAsync()));
        await b.SendCommandAsync("INFO", "cluster");
        string info = Encoding.UTF8.GetString(await b.ReadReplyAsync());
        Assert.Matches(@"^\$\d+\r\n# Cluster\r\n", info);
        Assert.Contains("\r\ncluster_enabled:1\r\n", info);
        Assert.Contains("\r\ncluster_shards:6\r\n", info);
        Assert.Contains("\r\ncluster_last_rank_missing_shards:none\r\n", info);
        // The full INFO carries the section too, only on the cluster.
        await a.SendCommandAsync("INFO");
        Assert.DoesNotContain("# Cluster", Encoding.UTF8.GetString(await a.ReadReplyAsync()));
        await b.SendCommandAsync("INFO");
        Assert.Contains("# Cluster\r\ncluster_enabled:1\r\ncluster_shards:6\r\n", Encoding.UTF8.GetString(await b.ReadReplyAsync()));
    }

    private static async Task<RawConnection> ConnectAsync(IHost host)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(host.ServerState().RespEndPoint!);
        return new RawConnection(socket);
    }

    /// <summary>Sends the steps one at a time over one connection, reading each reply before the next request.</summary>
    private static async Task<List<byte[]>> RunAsync(IHost host, List<Step> script)
    {
        using var connection = await ConnectAsync(host);
        var replies = new List<byte[]>(script.Count);
        foreach (var step in script)
        {
            await connection.SendAsync(step.Request);
            replies.Add(await connection.ReadReplyAsync());
        }
        return replies;
    }

    /// <summary>
    /// The requests. Every catalog-wide RANK carries <c>FILTER suite=resp</c> (a field only this test's items have),
    /// every id starts with "resp-" and DBSIZE is compared as a difference from its first reply: the fixture's durable
    /// shards live in the data root <see cref="ClusterRankTests"/>' cluster uses too (one after the other, see
    /// <see cref="RankingCluster.Collection"/>; removing the root on dispose is best effort), so the cluster's catalog
    /// could hold that class's items, which the single node has not. Scoped this way the replies still match.
    /// </summary>
    private static List<Step> Script()
    {
        var rng = new Random(2718);
        var steps = new List<Step>();
        void Add(string label, params object[] args) => steps.Add(new Step(label, RawConnection.Command(args)));
        void Raw(string label, string bytes) => steps.Add(new Step(label, Encoding.UTF8.GetBytes(bytes)));
        void DbSize(string label) => steps.Add(new Step(label, RawConnection.Command("DBSIZE"), Check.DbSizeDelta));
        string Item(int i) => $"{Prefix}item-{i:D3}";
        string User(int u) => $"{Prefix}user-{u:D2}";

        // Connection and Redis-compatibility commands.
        Add("PING", "PING");
        Raw("inline PING", "PING\r\n");
        Add("PING message", "PING", "hello cluster");
        Add("ECHO", "ECHO", "héllo wörld \u2603");
        Raw("inline ECHO with escapes", "ECHO \"a\\tb\\x41\"\r\n");
        Add("COMMAND", "COMMAND", "DOCS");
        Add("SELECT 0", "SELECT", "0");
        Add("SELECT 1", "SELECT", "1");
        Add("CLIENT SETNAME", "CLIENT", "SETNAME", "resp-test");
        Add("CLIENT GETNAME", "CLIENT", "GETNAME");
        Add("CLIENT KILL", "CLIENT", "KILL", "x");
        Add("CONFIG GET cluster-enabled", "CONFIG", "GET", "cluster-enabled");
        Add("CONFIG GET several", "CONFIG", "GET", "appendonly", "databases", "save", "maxmemory", "*read-only");
        Add("CONFIG SET", "CONFIG", "SET", "maxmemory", "1");
        Add("unknown command", "FLUSHALL");
        Add("TRAIN is no protocol command", "TRAIN");
        Add("wrong arity PING", "PING", "a", "b");
        Add("wrong arity ITEM.GET", "ITEM.GET");
        Add("wrong arity USER.EVENT", "USER.EVENT", "u", "i");
        Add("wrong arity RANK", "RANK");
        Add("INFO unknown section", "INFO", "nosuchsection");
        DbSize("DBSIZE before");

        // No model on either server: text needs one.
        Add("ENCODE", "ENCODE", "some text");
        Add("ENCODE FORMAT JSON", "ENCODE", "FORMAT", "JSON", "some text");
        Add("ENCODE FORMAT alone", "ENCODE", "FORMAT");
        Add("ITEM.ADD text", "ITEM.ADD", Prefix + "text-item", "a text to encode", "FIELD", "year", "2001");

        // The catalog: 150 items, every tenth repeating an earlier item's vectors and fields (exact score ties).
        string[] genres = ["drama", "comedy", "horror", "sf", "doc"];
        var made = new List<object[]>();
        var twins = new List<string>(); // pairs: an item, then its twin (same vectors and fields, so the same score)
        for (int i = 0; i < Items; i++)
        {
            object[] args;
            if (i % 10 == 9)
            {
                int source = i - 1 - rng.Next(5);
                args = (object[])made[source].Clone();
                args[1] = Item(i);
                twins.Add(Item(source));
                twins.Add(Item(i));
            }
            else
            {
                var list = new List<object> { "ITEM.ADDVEC", Item(i), ServerHarness.Blob(Gaussian(rng, RankingCluster.ContentDim)) };
                list.AddRange(["STR", "suite", "resp"]);
                list.AddRange(["FIELD", "genre", genres[rng.Next(genres.Length)]]); // reads as no number: a string field
                list.AddRange(["TAGS", "tags", string.Join("|", new[] { "a", "b", "c", " d ", "" }.Where(_ => rng.NextDouble() < 0.4))]);
                if (i % 6 != 0) list.AddRange(["FIELD", "popularity", rng.Next(1000).ToString(CultureInfo.InvariantCulture)]); // cold start ranks by it
                if (i % 5 != 0) list.AddRange(["FIELD", "price", Math.Round(rng.NextDouble() * 100, 2).ToString(CultureInfo.InvariantCulture)]);
                if (i % 3 == 0) list.AddRange(["FIELD", "year", (1950 + rng.Next(75)).ToString(CultureInfo.InvariantCulture)]);
                if (i % 7 == 0) list.AddRange(["STR", "code", $"00{i % 10}"]);
                if (i % 11 == 0) list.AddRange(["FIELD", "score", i % 2 == 0 ? "2e3" : "-1.5"]);
                if (i % 13 == 0) list.AddRange(["FIELD", "mood", i % 2 == 0 ? "Calm" : "tense"]);
                if (i % 4 == 0) list.AddRange(["TEXT", $"item {i}: «{genres[i % 5]}» ünïcode"]);
                if (i % 3 != 2) list.AddRange(["COLLAB", ServerHarness.Blob(Gaussian(rng, RankingCluster.CollabDim))]);
                args = [.. list];
            }
            made.Add(args);
            Add($"ITEM.ADDVEC {Item(i)}", args);
        }
        // Edge values: numbers a float32 cannot hold (fields are doubles), -0, empty text and strings, tags to trim and drop.
        Add("ITEM.ADDVEC edge values", "ITEM.ADDVEC", Prefix + "odd", ServerHarness.Blob(Gaussian(rng, RankingCluster.ContentDim)),
            "STR", "suite", "resp", "FIELD", "precise", "3.141592653589793", "FIELD", "tiny", "1e-40", "FIELD", "huge", "3.4e38",
            "FIELD", "negzero", "-0", "FIELD", "long", "12345678901", "FIELD", "popularity", "0.1", "STR", "empty", "",
            "TAGS", "dup", "a|A|a| b ||", "TEXT", "", "COLLAB", ServerHarness.Blob(Gaussian(rng, RankingCluster.CollabDim)));
        Add("ITEM.GET edge values", "ITEM.GET", Prefix + "odd", "WITHVECTORS");
        // Ids beyond ASCII, and an upsert that replaces an item whole (vector, fields, text).
        Add("ITEM.ADDVEC unicode id", "ITEM.ADDVEC", Prefix + "ïtem-ü", ServerHarness.Blob(Gaussian(rng, RankingCluster.ContentDim)),
            "STR", "suite", "resp", "FIELD", "price", "42", "TEXT", "naïve café");
        Add("ITEM.ADDVEC unnormalised", "ITEM.ADDVEC", Prefix + "big", ServerHarness.Blob(Enumerable.Range(0, RankingCluster.ContentDim).Select(d => d * 10f - 3).ToArray()),
            "STR", "suite", "resp", "COLLAB", ServerHarness.Blob(1e-3f, 0, 0, 0));
        Add("ITEM.ADDVEC to replace", "ITEM.ADDVEC", Prefix + "replaced", ServerHarness.Blob(Gaussian(rng, RankingCluster.ContentDim)),
            "STR", "suite", "resp", "FIELD", "price", "10", "TEXT", "first", "COLLAB", ServerHarness.Blob(Gaussian(rng, RankingCluster.CollabDim)));
        Add("ITEM.GET before replace", "ITEM.GET", Prefix + "replaced", "WITHVECTORS");
        Add("ITEM.ADDVEC replace", "ITEM.ADDVEC", Prefix + "replaced", ServerHarness.Blob(Gaussian(rng, RankingCluster.ContentDim)),
            "STR", "suite", "resp", "TAGS", "tags", "z");
        Add("ITEM.GET after replace", "ITEM.GET", Prefix + "replaced", "WITHVECTORS");
        DbSize("DBSIZE after adds");

        // Refused writes.
        Add("ITEM.ADDVEC short blob", "ITEM.ADDVEC", Prefix + "bad", ServerHarness.Blob(new float[RankingCluster.ContentDim - 1]));
        Add("ITEM.ADDVEC ragged blob", "ITEM.ADDVEC", Prefix + "bad", new byte[4 * RankingCluster.ContentDim + 2]);
        Add("ITEM.ADDVEC short collab", "ITEM.ADDVEC", Prefix + "bad", ServerHarness.Blob(Gaussian(rng, RankingCluster.ContentDim)), "COLLAB", ServerHarness.Blob(1, 2));
        Add("ITEM.ADDVEC zero vector", "ITEM.ADDVEC", Prefix + "bad", ServerHarness.Blob(new float[RankingCluster.ContentDim]));
        Add("ITEM.ADDVEC NaN", "ITEM.ADDVEC", Prefix + "bad", ServerHarness.Blob([float.NaN, .. new float[RankingCluster.ContentDim - 1]]));
        Add("ITEM.ADDVEC FIELD 1e39", "ITEM.ADDVEC", Prefix + "bad", ServerHarness.Blob(Gaussian(rng, RankingCluster.ContentDim)), "FIELD", "year", "-1e39");
        Add("ITEM.ADDVEC unknown option", "ITEM.ADDVEC", Prefix + "bad", ServerHarness.Blob(Gaussian(rng, RankingCluster.ContentDim)), "COLOUR", "red");
        Add("ITEM.ADDVEC FIELD without value", "ITEM.ADDVEC", Prefix + "bad", ServerHarness.Blob(Gaussian(rng, RankingCluster.ContentDim)), "FIELD", "x");
        Add("ITEM.ADDVEC empty id", "ITEM.ADDVEC", "", ServerHarness.Blob(Gaussian(rng, RankingCluster.ContentDim)));
        Add("ITEM.ADDVEC id too long", "ITEM.ADDVEC", new string('x', 300), ServerHarness.Blob(Gaussian(rng, RankingCluster.ContentDim)));
        Add("ITEM.GET refused", "ITEM.GET", Prefix + "bad");
        DbSize("DBSIZE after refused adds");

        // Reads of items: with and without vectors; with and without collab, text, twins, unicode.
        foreach (int i in new[] { 0, 1, 2, 4, 9, 11, 13, 19, 26, 39, 91, 143 })
        {
            Add($"ITEM.GET {Item(i)}", "ITEM.GET", Item(i));
            Add($"ITEM.GET {Item(i)} WITHVECTORS", "ITEM.GET", Item(i), "WITHVECTORS");
        }
        Add("ITEM.GET unicode", "ITEM.GET", Prefix + "ïtem-ü", "withvectors");
        Add("ITEM.GET unnormalised", "ITEM.GET", Prefix + "big", "WITHVECTORS");
        Add("ITEM.GET unknown", "ITEM.GET", Prefix + "nope");
        Add("ITEM.GET bad option", "ITEM.GET", Item(0), "WITHOUTVECTORS");

        // Events: every kind, explicit times (out of order too), default and explicit weights.
        string[] kinds = ["view", "click", "like", "dislike", "purchase", "skip"];
        long start = new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
        for (int u = 0; u < Users; u++)
        {
            int n = u switch { 0 => 0, 1 => 1, 2 => 4, _ => 3 + rng.Next(18) };
            for (int e = 0; e < n; e++)
            {
                string kind = u == 2 ? "dislike" : kinds[(u + e) % kinds.Length];
                string item = Item(rng.Next(Items));
                long at = start + rng.Next(2_000_000) * 1000L;
                if (e % 4 == 0) Add($"USER.EVENT {User(u)} {kind}", "USER.EVENT", User(u), item, kind, "AT", at);
                else
                {
                    string weight = e % 9 == 5 ? "0" : Math.Round(0.25 + rng.NextDouble() * 3, 2).ToString(CultureInfo.InvariantCulture);
                    Add($"USER.EVENT {User(u)} {kind} {weight}", "USER.EVENT", User(u), item, kind.ToUpperInvariant(), weight, "at", at);
                }
            }
        }
        Add("USER.EVENT twin", "USER.EVENT", User(3), Item(19), "purchase", "2.5", "AT", start + 5);
        Add("USER.EVENT unicode item", "USER.EVENT", User(4), Prefix + "ïtem-ü", "like", "AT", start + 7);
        Add("USER.EVENT unknown item", "USER.EVENT", User(3), Prefix + "nope", "like", "AT", start);
        Add("USER.EVENT unknown kind", "USER.EVENT", User(3), Item(1), "love", "AT", start);
        Add("USER.EVENT negative weight", "USER.EVENT", User(3), Item(1), "like", "-1", "AT", start);
        Add("USER.EVENT weight not a number", "USER.EVENT", User(3), Item(1), "like", "lots", "AT", start);
        Add("USER.EVENT AT garbage", "USER.EVENT", User(3), Item(1), "like", "AT", "yesterday");
        Add("USER.EVENT AT out of range", "USER.EVENT", User(3), Item(1), "like", "AT", "999999999999999999");
        Add("USER.EVENT leftover", "USER.EVENT", User(3), Item(1), "like", "1", "2", "3");
        for (int u = 0; u < Users; u++) Add($"USER.GET {User(u)}", "USER.GET", User(u));
        Add("USER.GET unknown", "USER.GET", Prefix + "ghost");

        // RANK with every option, for every user, no user and an unknown user.
        var candidateIds = Enumerable.Range(0, 14).Select(_ => Item(rng.Next(Items))).Append(Prefix + "not-an-item").Append(Item(5)).Append(Prefix + "ïtem-ü").ToArray();
        var who = Enumerable.Range(0, Users).Select(User).Append("").Append(Prefix + "ghost").ToList();
        void Rank(string label, string user, params object[] options)
        {
            var args = new List<object> { "RANK", user };
            if (!options.Contains("CANDIDATES")) args.AddRange(["FILTER", "suite=resp"]);
            args.AddRange(options);
            Add($"RANK '{user}' {label}", [.. args]);
        }
        void RankBattery(string when)
        {
            foreach (var user in who)
            {
                Rank($"{when} default", user);
                Rank($"{when} K 40 EXCLUDE_SEEN", user, "K", 40, "EXCLUDE_SEEN");
                Rank($"{when} DIVERSITY", user, "K", 10, "DIVERSITY", "0.5");
                Rank($"{when} FILTER genre", user, "K", 7, "FILTER", $"genre={genres[rng.Next(genres.Length)]}");
                Rank($"{when} FILTER range DIVERSITY", user, "FILTER", "price>=20", "FILTER", "price<70", "K", 12, "DIVERSITY", "0.3");
                Rank($"{when} BOOST", user, "BOOST", "year", "0.001", "BOOST", "price", "-0.002");
                Rank($"{when} weights EXCLUDE_SEEN", user, "CONTENT_WEIGHT", "0.4", "COLLAB_WEIGHT", "0.6", "EXCLUDE_SEEN");
                Rank($"{when} CANDIDATES", user, ["K", 8, "CANDIDATES", candidateIds.Length, .. candidateIds]);
            }
            // Option spellings and clauses once each, for one user.
            string u5 = User(5);
            Rank($"{when} lower-case options", u5, "k", "5", "diversity", "0.9", "exclude_seen");
            Rank($"{when} FILTER tags", u5, "FILTER", "tags=b", "K", 20);
            Rank($"{when} FILTER year<= and >", u5, "FILTER", "year<=1990", "FILTER", "year>1960", "K", 30);
            Rank($"{when} FILTER code string", u5, "FILTER", "code=007");
            Rank($"{when} FILTER case-insensitive", u5, "FILTER", "mood=CALM");
            Rank($"{when} FILTER nothing matches", u5, "FILTER", "genre=western");
            Rank($"{when} collab only", u5, "CONTENT_WEIGHT", "0", "K", 15);
            Rank($"{when} content only, boosted", u5, "COLLAB_WEIGHT", "0", "BOOST", "score", "0.01", "K", 15);
            Rank($"{when} all of it", u5, "K", 160, "DIVERSITY", "0.2", "BOOST", "price", "0.01", "FILTER", "price>5", "CONTENT_WEIGHT", "1.5", "COLLAB_WEIGHT", "0.25", "EXCLUDE_SEEN");
            Rank($"{when} CANDIDATES and FILTER", u5, "CANDIDATES", 4, Item(0), Item(1), Item(2), "nope", "FILTER", "price>=0");
            Rank($"{when} CANDIDATES none", u5, "CANDIDATES", 0);
            foreach (var user in new[] { User(3), User(9), "" })
                Rank($"{when} twins tie", user, ["CANDIDATES", twins.Count, .. twins, "K", twins.Count]);
            foreach (var u in new[] { User(1), User(3), "", Prefix + "ghost" })
                Add($"SCORE '{u}' {when}", ["SCORE", u, .. candidateIds]);
            Add($"SCORE unknown ids only {when}", "SCORE", User(6), Prefix + "x", Prefix + "y");
        }
        RankBattery("before deletes");

        // Refused RANKs.
        Rank("K 0", User(3), "K", 0);
        Rank("K -1", User(3), "K", -1);
        Rank("K not a number", User(3), "K", "ten");
        Rank("K too large", User(3), "K", 5000);
        Rank("DIVERSITY 1.5", User(3), "DIVERSITY", "1.5");
        Rank("DIVERSITY nan", User(3), "DIVERSITY", "nan");
        Rank("bad FILTER", User(3), "FILTER", "price>>3");
        Rank("BOOST without weight", User(3), "BOOST");
        Rank("BOOST weight inf", User(3), "BOOST", "price", "inf");
        Rank("unknown option", User(3), "SHUFFLE", "1");
        Rank("option without value", User(3), "K");
        Rank("CANDIDATES too few", User(3), "CANDIDATES", 3, Item(1));
        Rank("QUERY without a model", User(3), "QUERY", "space opera");
        Add("SCORE empty user", "SCORE", "", Item(1));

        // Deletes (some items users have seen, a twin, the unicode one), then everything again.
        foreach (int i in new[] { 5, 9, 19, 42, 77, 100, 149 }) Add($"ITEM.DEL {Item(i)}", "ITEM.DEL", Item(i));
        Add("ITEM.DEL unicode", "ITEM.DEL", Prefix + "ïtem-ü");
        Add("ITEM.DEL again", "ITEM.DEL", Item(5));
        Add("ITEM.DEL unknown", "ITEM.DEL", Prefix + "nope");
        Add("ITEM.GET deleted", "ITEM.GET", Item(5));
        Add("USER.EVENT on deleted", "USER.EVENT", User(3), Item(5), "like", "AT", start);
        DbSize("DBSIZE after deletes");
        for (int u = 0; u < Users; u++) Add($"USER.GET {User(u)} after deletes", "USER.GET", User(u));
        // Events after deletes and replacements: each rebuilds the user's profile from the items that exist now.
        var seen = new[] { 4, 8, 11, 17, 23, 31, 36, 40 };
        Add("ITEM.ADDVEC replace a seen item", ["ITEM.ADDVEC", Item(12), ServerHarness.Blob(Gaussian(rng, RankingCluster.ContentDim)), "STR", "suite", "resp",
            "FIELD", "popularity", "5", "COLLAB", ServerHarness.Blob(Gaussian(rng, RankingCluster.CollabDim))]);
        for (int u = 3; u < Users; u += 2)
            for (int e = 0; e < 2; e++)
                Add($"USER.EVENT {User(u)} after deletes", "USER.EVENT", User(u), Item(seen[(u + e) % seen.Length]), kinds[(u * 2 + e) % kinds.Length],
                    "1.5", "AT", start + 3_000_000_000L + u * 1000 + e);
        Add("USER.EVENT same item again", "USER.EVENT", User(3), Item(12), "view", "AT", start + 3_000_000_000L);
        for (int u = 3; u < Users; u += 2) Add($"USER.GET {User(u)} after new events", "USER.GET", User(u));
        Add("SCORE duplicate ids", "SCORE", User(3), Item(1), Item(1), Item(2), Item(5), Item(2));
        Rank("CANDIDATES duplicate ids", User(3), "CANDIDATES", 5, Item(1), Item(1), Item(2), Item(5), Item(2));
        Rank("K 4096 all items", User(4), "K", 4096);
        Rank("K 4096 DIVERSITY too costly", User(4), "K", 4096, "DIVERSITY", "0.5");
        Rank("edge values: inf boost", "", "CANDIDATES", 2, Prefix + "odd", Item(1), "BOOST", "huge", "10");
        Rank("edge values: tiny filter", User(4), "FILTER", "tiny>0", "FILTER", "negzero>=0", "FILTER", "dup=B");
        RankBattery("after deletes");

        // Transactions: queued engine commands run at EXEC; a refused one aborts the whole.
        Add("MULTI", "MULTI");
        Rank("queued", User(7), "K", 3);
        Add("SCORE queued", "SCORE", User(7), Item(1), Item(2));
        Add("ITEM.GET queued", "ITEM.GET", Item(3));
        Add("USER.GET queued", "USER.GET", Prefix + "ghost");
        Add("EXEC", "EXEC");
        Add("MULTI again", "MULTI");
        Add("ITEM.GET queued", "ITEM.GET", Item(3));
        Add("unknown queued", "NOSUCH");
        Add("EXEC aborted", "EXEC");
        Add("EXEC without MULTI", "EXEC");
        Add("SAVE", "SAVE");
        DbSize("DBSIZE after SAVE");

        // RESP3: maps, doubles, null.
        steps.Add(new Step("HELLO 3", RawConnection.Command("HELLO", "3"), Check.SameButHelloId));
        Add("PING RESP3", "PING");
        Add("CLIENT GETNAME RESP3", "CLIENT", "GETNAME");
        Add("CLIENT SETNAME clear", "CLIENT", "SETNAME", "");
        Add("CLIENT GETNAME null", "CLIENT", "GETNAME");
        Add("CONFIG GET RESP3", "CONFIG", "GET", "cluster-enabled");
        foreach (var user in new[] { User(3), User(8), User(2), "", Prefix + "ghost" })
        {
            Rank("RESP3 default", user);
            Rank("RESP3 DIVERSITY FILTER BOOST", user, "K", 12, "DIVERSITY", "0.4", "FILTER", "price<=80", "BOOST", "year", "0.002", "EXCLUDE_SEEN");
            Rank("RESP3 CANDIDATES", user, ["CANDIDATES", candidateIds.Length, .. candidateIds]);
        }
        Add("SCORE RESP3", ["SCORE", User(4), .. candidateIds]);
        Add("ITEM.GET RESP3", "ITEM.GET", Item(0), "WITHVECTORS");
        Add("ITEM.GET RESP3 no text", "ITEM.GET", Item(1));
        Add("USER.GET RESP3", "USER.GET", User(4));
        Add("ITEM.DEL RESP3", "ITEM.DEL", Item(0));
        Rank("RESP3 K 0", User(3), "K", 0);
        Add("ITEM.GET RESP3 unknown", "ITEM.GET", Item(0));
        DbSize("DBSIZE RESP3");
        steps.Add(new Step("HELLO 2", RawConnection.Command("HELLO", "2"), Check.SameButHelloId));
        Rank("back to RESP2", User(3), "K", 4);
        return steps;
    }

    private static float[] Gaussian(Random rng, int d)
    {
        var v = new float[d];
        for (int i = 0; i < d; i++) v[i] = (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
        return v;
    }

    private static long DbSize(byte[] reply)
    {
        string text = Encoding.ASCII.GetString(reply);
        Assert.Matches(@"^:\d+\r\n$", text);
        return long.Parse(text.AsSpan(1, text.Length - 3), CultureInfo.InvariantCulture);
    }

    /// <summary>HELLO's connection id is this server's count of connections, not data: masked (and checked to be there).</summary>
    private static string MaskHelloId(string shown)
    {
        var id = new Regex(@"\$2\\r\\nid\\r\\n:\d+\\r\\n");
        Assert.Single(id.Matches(shown));
        return id.Replace(shown, "<the id entry>");
    }

    /// <summary>A reply printable on one line: CR, LF and other control or non-ASCII bytes escaped.</summary>
    private static string Show(byte[] reply)
    {
        var sb = new StringBuilder(reply.Length);
        foreach (byte b in reply)
        {
            if (b == '\r') sb.Append("\\r");
            else if (b == '\n') sb.Append("\\n");
            else if (b == '\\') sb.Append("\\\\");
            else if (b is >= 0x20 and < 0x7f) sb.Append((char)b);
            else sb.Append("\\x").Append(b.ToString("x2", CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    private static string Trim(string shown) => shown.Length <= 1500 ? shown : shown[..1500] + $"… ({shown.Length} chars)";

    /// <summary>Both replies, from a little before where they first differ.</summary>
    private static string Difference(int step, string label, string single, string cluster)
    {
        int at = 0;
        while (at < single.Length && at < cluster.Length && single[at] == cluster[at]) at++;
        int from = Math.Max(0, at - 120);
        string Window(string s) => (from > 0 ? "…" : "") + Trim(s[from..]);
        return $"step {step} {label}: replies differ at character {at} (escaped) of {single.Length} / {cluster.Length}\n" +
               $"  single node: {Window(single)}\n  cluster:     {Window(cluster)}";
    }
}
