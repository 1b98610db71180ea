using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace RankEngine.Server.Hosting;

/// <summary>
/// Refits the ranking model in the background once enough new events have arrived (at least
/// <see cref="RefitOptions.MinNewEvents"/> and <see cref="RefitOptions.MinNewFraction"/> of the events the served model
/// saw), then the engine swaps the new model in atomically; a failed or interrupted refit leaves the served model
/// as it was, and the failure is logged and kept in <see cref="RankServerState.LastRefitError"/>.
/// </summary>
internal sealed class ModelRefitService(RankServerState state, ILogger<ModelRefitService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var options = state.Options.Refit;
        if (options.CheckInterval is not { } interval || interval <= TimeSpan.Zero || !state.Service.CanTrain) return;
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var engine = state.Service;
                long fresh = engine.EventsSinceTraining;
                long seen = engine.Model?.Events ?? 0;
                if (fresh < options.MinNewEvents || fresh < options.MinNewFraction * seen) continue;
                // Training is CPU-bound for seconds to minutes: off the thread pool, so serving keeps its threads.
                await Task.Factory.StartNew(() => Refit(engine, fresh), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private void Refit(IRankingService engine, long fresh)
    {
        try
        {
            logger.LogInformation("refitting the ranking model after {Events} new events", fresh);
            var d = engine.Train();
            state.LastRefitError = null;
            logger.LogInformation("model v{Version} serving: rank {Rank}, λ {Lambda}, validation NDCG@10 {Ndcg:F4}, {Seconds:F1} s",
                d.Version, d.Rank, d.Lambda, d.ValidationNdcg, d.TrainSeconds);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            state.LastRefitError = e.Message;
            logger.LogError("model refit failed, the previous model keeps serving: {Error}", e.Message);
        }
    }
}
