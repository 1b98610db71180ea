namespace RankEngine.Evaluation;

/// <summary>Receives progress of long steps (the CLI draws bars; the library stays UI-free).</summary>
internal interface IProgressReporter
{
    /// <summary>Starts a step of <paramref name="total"/> units; dispose the step when it ends.</summary>
    IProgressStep Begin(string description, long total);
}

/// <summary>One running step. <see cref="Advance"/> may be called from several threads at once.</summary>
internal interface IProgressStep : IDisposable
{
    void Advance(long amount = 1);
}

/// <summary>Reports nothing.</summary>
internal sealed class NoProgress : IProgressReporter, IProgressStep
{
    public static NoProgress Instance { get; } = new();
    public IProgressStep Begin(string description, long total) => this;
    public void Advance(long amount = 1) { }
    public void Dispose() { }
}
