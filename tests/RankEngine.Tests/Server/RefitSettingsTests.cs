using RankEngine.Server.Hosting;
using Xunit;

namespace RankEngine.Tests.Server;

/// <summary>The Refit configuration section maps onto the refit options and is validated with one-line errors.</summary>
public sealed class RefitSettingsTests
{
    [Fact]
    public void RefitSectionMapsAndZeroTurnsRefitsOff()
    {
        var options = new RankServerSettings { Refit = new RefitSettings { CheckIntervalSeconds = 5, MinNewEvents = 20, MinNewFraction = 0.5 } }.ToOptions();
        Assert.Equal(TimeSpan.FromSeconds(5), options.Refit.CheckInterval);
        Assert.Equal(20, options.Refit.MinNewEvents);
        Assert.Equal(0.5, options.Refit.MinNewFraction);
        Assert.Null(new RankServerSettings { Refit = new RefitSettings { CheckIntervalSeconds = 0 } }.ToOptions().Refit.CheckInterval);
    }

    [Fact]
    public void BadRefitValuesAreOneLineErrors()
    {
        var e = Assert.Throws<ArgumentException>(() => new RankServerSettings { Refit = new RefitSettings { CheckIntervalSeconds = -1, MinNewEvents = 0 } }.ToOptions());
        Assert.Contains("RankEngine:Server:Refit:CheckIntervalSeconds is -1", e.Message);
        Assert.Contains("RankEngine:Server:Refit:MinNewEvents is 0", e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }
}
