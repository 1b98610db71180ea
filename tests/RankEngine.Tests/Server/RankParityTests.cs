using RankEngine.Client;
using RankEngine.Ranking;
using RankEngine.Store;
using RankEngine.Tests.Support;
using Xunit;

namespace RankEngine.Tests.Server;

/// <summary>
/// RANK and SCORE over the wire return exactly what the embedded engine returns for the same request: same ids in
/// the same order, bit-identical scores and parts (floats travel as their shortest round-trip text).
/// </summary>
public sealed class RankParityTests : IAsyncLifetime
{
    private ServerHarness _server = null!;
    private RankEngineClient _client = null!;

    public async Task InitializeAsync()
    {
        _server = await ServerHarness.StartAsync(contentDim: 16, collabDim: 4);
        var rng = new Random(7);
        float[] Vec(int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        string[] genres = ["drama", "comedy", "horror", "doc"];
        var items = Enumerable.Range(0, 400).Select(i => new ItemInput($"i{i}")
        {
            ContentVector = Vec(16),
            CollabVector = i % 5 == 0 ? null : Vec(4),
            Fields = new Dictionary<string, FieldValue>
            {
                ["popularity"] = FieldValue.Num(rng.Next(0, 1000)),
                ["genre"] = FieldValue.String(genres[i % 4]),
                ["year"] = FieldValue.Num(1950 + i % 70),
                ["tags"] = FieldValue.Tags(genres[(i + 1) % 4], "t" + i % 3),
            },
        }).ToArray();
        _server.Engine.AddItems(items);
        var kinds = Enum.GetValues<UserEventKind>();
        for (int u = 0; u < 12; u++)
            for (int e = 0; e < 10; e++)
                _server.Engine.RecordEvent($"u{u}", $"i{rng.Next(400)}", kinds[rng.Next(kinds.Length)], 1f,
                    DateTimeOffset.FromUnixTimeSeconds(1_700_000_000 + e * 3600));
        _client = await _server.ConnectAsync();
    }

    public async Task DisposeAsync()
    {
        await _client.DisposeAsync();
        await _server.DisposeAsync();
    }

    public static TheoryData<string> Requests() => new()
    {
        "user=u1 k=10",
        "user=u2 k=1",
        "user=u3 k=50 exclude",
        "user=u4 k=20 diversity=0.4",
        "user=u5 k=15 filter=genre=drama filter=year>=1990",
        "user=u6 k=10 filter=tags=t1 boost=popularity:0.001",
        "user=u7 k=10 content=0.3 collab=2",
        "user=u8 k=5 candidates",
        "user=nobody k=10",
        "k=10 boost=year:0.5",
        "user=u9 k=4096",
    };

    private static (RankRequest Engine, RankQuery Wire) Build(string spec)
    {
        var engine = new RankRequest();
        var wire = new RankQuery();
        var filters = new List<string>();
        var boosts = new Dictionary<string, float>();
        foreach (var part in spec.Split(' '))
        {
            int eq = part.IndexOf('=');
            string key = eq < 0 ? part : part[..eq], value = eq < 0 ? "" : part[(eq + 1)..];
            switch (key)
            {
                case "user": engine = engine with { UserId = value }; wire = wire with { UserId = value }; break;
                case "k": engine = engine with { K = int.Parse(value) }; wire = wire with { K = int.Parse(value) }; break;
                case "exclude": engine = engine with { ExcludeSeen = true }; wire = wire with { ExcludeSeen = true }; break;
                case "diversity": engine = engine with { Diversity = float.Parse(value) }; wire = wire with { Diversity = float.Parse(value) }; break;
                case "content": engine = engine with { ContentWeight = float.Parse(value) }; wire = wire with { ContentWeight = float.Parse(value) }; break;
                case "collab": engine = engine with { CollabWeight = float.Parse(value) }; wire = wire with { CollabWeight = float.Parse(value) }; break;
                case "filter": filters.Add(value); break;
                case "boost": boosts[value.Split(':')[0]] = float.Parse(value.Split(':')[1]); break;
                case "candidates":
                    string[] ids = ["i3", "i77", "nope", "i150", "i3", "i399", "i200", "i201"];
                    engine = engine with { Candidates = ids };
                    wire = wire with { Candidates = ids };
                    break;
            }
        }
        engine = engine with { Filters = filters.Select(ItemFilter.Parse).ToArray(), Boosts = boosts.Count > 0 ? boosts : null };
        wire = wire with { Filters = filters, Boosts = boosts.Count > 0 ? boosts : null };
        return (engine, wire);
    }

    private static void AssertSame(RankResponse expected, RankResult actual)
    {
        Assert.Equal(expected.Items.Select(i => i.Id), actual.Items.Select(i => i.Id));
        for (int i = 0; i < expected.Items.Count; i++)
        {
            var e = expected.Items[i];
            var a = actual.Items[i];
            Assert.Equal(e.Score, a.Score); // exact: the text round-trips the float
            Assert.Equal(e.Parts.Content, a.Content);
            Assert.Equal(e.Parts.Collab, a.Collab);
            Assert.Equal(e.Parts.BoostTotal, a.Boosts);
        }
        Assert.Equal(expected.Strategy switch { RankStrategy.Personalized => "personalized", RankStrategy.QueryOnly => "query", _ => "popularity" }, actual.Strategy);
        Assert.Equal(expected.Bucket, actual.Bucket);
        Assert.Equal(expected.Explanation, actual.Explanation);
        Assert.Equal(expected.UnknownCandidates, actual.UnknownCandidates);
    }

    [Theory]
    [MemberData(nameof(Requests))]
    public async Task RankOverTheWireEqualsTheEmbeddedEngine(string spec)
    {
        var (engineRequest, wireRequest) = Build(spec);
        var actual = await _client.RankAsync(wireRequest);
        var expected = _server.Engine.Rank(engineRequest);
        Assert.NotEmpty(expected.Items);
        AssertSame(expected, actual);
    }

    [Fact]
    public async Task ScoreOverTheWireEqualsTheEmbeddedEngine()
    {
        string[] ids = ["i1", "i2", "i3", "zzz", "i100", "i250", "i399"];
        AssertSame(_server.Engine.Score("u1", ids), await _client.ScoreAsync("u1", ids));
    }
}

/// <summary>With a model (the tiny BERT): ENCODE, ITEM.ADD by text and RANK … QUERY match the embedded engine.</summary>
public sealed class ModelServerTests : IClassFixture<TinyBertFixture>, IAsyncLifetime
{
    private readonly TinyBertFixture _bert;
    private ServerHarness _server = null!;
    private RankEngineClient _client = null!;

    public ModelServerTests(TinyBertFixture bert) => _bert = bert;

    public async Task InitializeAsync()
    {
        _server = await ServerHarness.StartAsync(modelPath: _bert.ModelPath, collabDim: 0);
        _client = await _server.ConnectAsync();
    }

    public async Task DisposeAsync()
    {
        await _client.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task EncodeReturnsTheEngineVectorsExactly()
    {
        string[] texts = ["hello world", "the quick brown fox", "ünïcödé text ✓"];
        var wire = await _client.EncodeAsync(texts);
        var local = _server.Engine.Encode(texts);
        Assert.Equal(texts.Length, wire.Length);
        for (int i = 0; i < texts.Length; i++) Assert.Equal(local.Vector(i).ToArray(), wire[i]);

        var json = (await _client.ExecuteAsync("ENCODE", "FORMAT", "JSON", texts[0])).AsArray();
        var parsed = System.Text.Json.JsonSerializer.Deserialize<float[]>(json[0].AsString())!;
        Assert.Equal(local.Vector(0).ToArray(), parsed);
        var info = await _client.InfoAsync("engine");
        Assert.Equal("tiny.rem", info["model"]);
        Assert.Equal("simd", info["backend"]);
    }

    [Fact]
    public async Task ItemsByTextAndQueryRanking()
    {
        string[] titles = ["space adventure with robots", "romantic comedy in paris", "documentary about whales", "robots fight in space"];
        for (int i = 0; i < titles.Length; i++)
            await _client.AddItemAsync($"m{i}", titles[i], [ItemField.Num("popularity", i)]);
        var item = await _client.GetItemAsync("m0", withVectors: true);
        Assert.Equal(titles[0], item!.Text);
        Assert.Equal(_server.Engine.Encode([titles[0]]).Vector(0).ToArray(), item.Vectors["content"]);

        var wire = await _client.RankAsync(new RankQuery { Query = "robots in space", K = 3 });
        var local = _server.Engine.Rank(new RankRequest { QueryText = "robots in space", K = 3 });
        Assert.Equal("query", wire.Strategy);
        Assert.Equal(local.Items.Select(i => i.Id), wire.Items.Select(i => i.Id));
        Assert.Equal(local.Items.Select(i => i.Score), wire.Items.Select(i => i.Score));
    }
}
