using System.IO.Pipelines;
using System.Text;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using RankEngine.Server;
using RankEngine.Server.Resp;
using RankEngine.Store;

namespace RankEngine.Bench.Server;

/// <summary>
/// Garnet-style: 100 pre-encoded requests pushed through one <see cref="RespSession"/> over in-memory pipes (no
/// socket), to see the protocol layer's own cost and allocations per request. The per-invocation pipes and session
/// are part of the measurement (amortised over the 100 requests).
///   dotnet run -c Release --project bench/RankEngine.Bench -- --filter '*RespSession*' --job short
/// </summary>
[MemoryDiagnoser]
public class RespSessionBenchmarks
{
    private const int Requests = 100;
    private string _dir = null!;
    private RankingEngine _engine = null!;
    private RankServerState _state = null!;
    private byte[] _ping = null!, _get = null!, _rankCandidates = null!;
    private string[] _candidates = null!;

    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(Path.GetTempPath(), "rankengine-bdn-resp-" + Guid.NewGuid().ToString("n"));
        _engine = RankingEngine.Open(new RankingEngineOptions { DataDirectory = _dir, ContentDimension = 16, CollabDimension = 0, CheckpointInterval = null });
        var rng = new Random(5);
        _engine.AddItems(Enumerable.Range(0, 1000).Select(i => new ItemInput($"i{i}")
        {
            ContentVector = Enumerable.Range(0, 16).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray(),
            Fields = new Dictionary<string, FieldValue> { ["popularity"] = FieldValue.Num(i) },
        }).ToArray());
        _engine.RecordEvent("u", "i1", UserEventKind.Like);
        _state = new RankServerState(_engine, new RankServerOptions { Port = 0, HttpPort = null });
        _candidates = Enumerable.Range(0, 20).Select(i => $"i{i * 7}").ToArray();
        _ping = Repeat("PING");
        _get = Repeat("ITEM.GET", "i42");
        _rankCandidates = Repeat(new[] { "RANK", "u", "K", "10", "CANDIDATES", "20" }.Concat(_candidates).ToArray());
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _state.Dispose();
        _engine.Dispose();
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    private static byte[] Repeat(params string[] args)
    {
        var sb = new StringBuilder();
        for (int r = 0; r < Requests; r++)
        {
            sb.Append('*').Append(args.Length).Append("\r\n");
            foreach (var a in args) sb.Append('$').Append(Encoding.UTF8.GetByteCount(a)).Append("\r\n").Append(a).Append("\r\n");
        }
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    private async Task Run(byte[] batch)
    {
        var input = new Pipe();
        var output = new Pipe();
        var session = new RespSession(_state, input.Reader, output.Writer, NullLogger.Instance);
        var run = session.RunAsync(CancellationToken.None);
        await input.Writer.WriteAsync(batch);
        await input.Writer.CompleteAsync();
        var drain = Task.Run(async () =>
        {
            while (true)
            {
                var read = await output.Reader.ReadAsync();
                output.Reader.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted) break;
            }
        });
        await run;
        await drain;
    }

    [Benchmark(OperationsPerInvoke = Requests)]
    public Task Ping() => Run(_ping);

    [Benchmark(OperationsPerInvoke = Requests)]
    public Task ItemGet() => Run(_get);

    [Benchmark(OperationsPerInvoke = Requests)]
    public Task RankOver20Candidates() => Run(_rankCandidates);

    /// <summary>The same ranking through the embedded API, for the protocol's share of the cost.</summary>
    [Benchmark(OperationsPerInvoke = Requests)]
    public void RankOver20CandidatesEmbedded()
    {
        for (int r = 0; r < Requests; r++)
            _engine.Rank(new RankEngine.Ranking.RankRequest { UserId = "u", K = 10, Candidates = _candidates });
    }
}
