using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Xunit;

namespace RankEngine.Tests.Server;

/// <summary>
/// The server's metrics reach System.Diagnostics.Metrics listeners (what OpenTelemetry and dotnet-counters use) on
/// the meter "RankEngine.Server", with the same values /metrics shows.
/// </summary>
public sealed class MeterTests
{
    [Fact]
    public async Task ListenersSeeCountersAndHistograms()
    {
        await using var server = await ServerHarness.StartAsync();
        server.AddSmallCatalog();
        var meter = server.State.Meter.Meter;
        Assert.Equal("RankEngine.Server", meter.Name);
        var longs = new ConcurrentBag<(string Instrument, long Value, string? Tag)>();
        var doubles = new ConcurrentBag<(string Instrument, double Value, string? Tag)>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter, meter)) l.EnableMeasurementEvents(instrument);
            },
        };
        static string? FirstTag(ReadOnlySpan<KeyValuePair<string, object?>> tags) => tags.Length > 0 ? $"{tags[0].Key}={tags[0].Value}" : null;
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) => longs.Add((i.Name, v, FirstTag(tags))));
        listener.SetMeasurementEventCallback<double>((i, v, tags, _) => doubles.Add((i.Name, v, FirstTag(tags))));
        listener.Start();

        using var c = await server.RawAsync();
        await c.SendAsync("PING\r\n");
        await c.ExpectAsync("+PONG\r\n");
        await c.SendCommandAsync("ITEM.GET", "a");
        await c.SendCommandAsync("NOPE");
        await c.SendAsync("PING\r\n"); // everything before it has been counted once this is answered
        var lines = new List<string>();
        while (lines.LastOrDefault() != "+PONG") lines.Add(await c.ReadLineAsync());
        Assert.Contains("-ERR unknown command 'NOPE'", lines);
        listener.RecordObservableInstruments();

        Assert.Contains(longs, m => m.Instrument == "rankengine.requests" && m.Tag == "command=ping" && m.Value >= 1);
        Assert.Contains(longs, m => m.Instrument == "rankengine.requests" && m.Tag == "command=unknown" && m.Value == 1);
        Assert.Contains(longs, m => m.Instrument == "rankengine.errors" && m.Tag == "code=ERR" && m.Value == 1);
        Assert.Contains(longs, m => m.Instrument == "rankengine.items" && m.Value == 5);
        Assert.Contains(longs, m => m.Instrument == "rankengine.connections" && m.Value == 1);
        Assert.Contains(doubles, m => m.Instrument == "rankengine.request.duration" && m.Tag == "command=item.get" && m.Value >= 0);
        Assert.Contains(doubles, m => m.Instrument == "rankengine.slot.wait" && m.Value >= 0);
    }
}
