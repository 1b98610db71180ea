using System.Diagnostics;

namespace RankEngine.Bench.Scoring;

/// <summary>
/// tools/faiss_flat_server.py under Debian's /usr/bin/python3, driven over stdin/stdout: one process holds every
/// index named in <c>indexes</c> ("flat": IndexFlatIP; "sq8": IndexScalarQuantizer QT_8bit, inner product), built
/// over the same catalog file. The times returned are FAISS's own (seconds inside the search calls).
/// </summary>
internal sealed class FaissProcess : IDisposable
{
    private readonly Process _process;
    public string Banner { get; }

    public FaissProcess(string catalog, int rows, int dim, string queries, int nq, int threads, string indexes = "flat")
    {
        string script = Path.Combine(BenchPaths.RepoRoot, "tools", "faiss_flat_server.py");
        var info = new ProcessStartInfo("/usr/bin/python3")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { script, catalog, rows.ToString(), dim.ToString(), queries, nq.ToString(), threads.ToString(), indexes })
            info.ArgumentList.Add(arg);
        info.Environment["OMP_NUM_THREADS"] = threads.ToString();
        _process = Process.Start(info) ?? throw new InvalidOperationException("could not start /usr/bin/python3 (is python3-faiss installed?)");
        string line = _process.StandardOutput.ReadLine() ?? throw new InvalidOperationException("the FAISS process exited before it was ready (is python3-faiss installed?)");
        if (!line.StartsWith("ready ", StringComparison.Ordinal)) throw new InvalidOperationException($"unexpected FAISS output: {line}");
        Banner = "FAISS " + line[6..];
    }

    /// <summary>One search call with the first <paramref name="nq"/> queries.</summary>
    public double Search(int nq, int k, string index = "") => Command($"search {nq} {k} {index}");
    /// <summary>The first <paramref name="nq"/> queries, each searched alone (nq calls with one query).</summary>
    public double Each(int nq, int k, string index = "") => Command($"each {nq} {k} {index}");
    /// <summary>Writes the ids of <c>Search(nq, k)</c> to <paramref name="path"/> (int64, nq × k).</summary>
    public double Dump(int nq, int k, string path, string index = "") => Command($"dump {nq} {k} {path} {index}");

    private double Command(string command)
    {
        _process.StandardInput.WriteLine(command.TrimEnd());
        _process.StandardInput.Flush();
        string line = _process.StandardOutput.ReadLine() ?? throw new InvalidOperationException("the FAISS process died");
        return double.Parse(line[5..], System.Globalization.CultureInfo.InvariantCulture);
    }

    public void Dispose()
    {
        try
        {
            _process.StandardInput.WriteLine("quit");
            _process.StandardInput.Flush();
            if (!_process.WaitForExit(10_000)) _process.Kill();
        }
        catch (IOException) { }
        _process.Dispose();
    }
}
