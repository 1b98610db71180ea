using System.Text.Json;
using RankEngine.Model;
using RankEngine.Model.Converters;

namespace RankEngine.Tests.Support;

/// <summary>Locates committed fixtures and builds per-test temporary files.</summary>
public static class Fixtures
{
    /// <summary>Directory of a fixture set copied next to the test assembly.</summary>
    public static string Dir(string name)
    {
        string dir = Path.Combine(AppContext.BaseDirectory, "Fixtures", name);
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"fixture directory '{dir}' is missing");
        return dir;
    }

    /// <summary>The repository root (the directory holding RankEngine.sln).</summary>
    public static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "RankEngine.sln"))) dir = dir.Parent;
            return dir?.FullName ?? throw new DirectoryNotFoundException("RankEngine.sln not found above the test assembly");
        }
    }

    /// <summary>A fresh temporary directory, deleted when disposed.</summary>
    public static TempDir TempDir() => new();
}

public sealed class TempDir : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "rankengine-test-" + Guid.NewGuid().ToString("n"));
    public TempDir() => Directory.CreateDirectory(Path);
    public string File(string name) => System.IO.Path.Combine(Path, name);
    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>The tiny random BERT (tools/make_bert_reference.py) and its PyTorch reference outputs.</summary>
public sealed class TinyBertFixture : IDisposable
{
    private readonly TempDir _dir = new();
    public string ModelPath { get; }
    public int[][] Sequences { get; }
    public float[] Hidden { get; }
    public float[] Cls { get; }
    public float[] Mean { get; }
    public float[] ClsNormalized { get; }
    public float[] MeanNormalized { get; }

    public TinyBertFixture()
    {
        string dir = Fixtures.Dir("TinyBert");
        ModelPath = _dir.File("tiny.rem");
        BertSafetensorsConverter.Convert(dir, new BertConversionOptions { Normalize = false }).Write(ModelPath);
        using var doc = JsonDocument.Parse(System.IO.File.ReadAllText(Path.Combine(dir, "reference.json")));
        Sequences = doc.RootElement.GetProperty("sequences").EnumerateArray()
            .Select(s => s.EnumerateArray().Select(e => e.GetInt32()).ToArray()).ToArray();
        var blob = System.IO.File.ReadAllBytes(Path.Combine(dir, "reference.bin"));
        float[] Tensor(string name)
        {
            var t = doc.RootElement.GetProperty("tensors").GetProperty(name);
            int offset = t.GetProperty("offset").GetInt32();
            int count = t.GetProperty("shape").EnumerateArray().Aggregate(1, (a, e) => a * e.GetInt32());
            return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(blob.AsSpan(offset, count * 4)).ToArray();
        }
        Hidden = Tensor("hidden");
        Cls = Tensor("cls");
        Mean = Tensor("mean");
        ClsNormalized = Tensor("cls_normalized");
        MeanNormalized = Tensor("mean_normalized");
    }

    internal WeightFile Open() => WeightFile.Open(ModelPath);

    public void Dispose() => _dir.Dispose();
}

/// <summary>Float comparisons that report where and by how much.</summary>
public static class Numerics
{
    public static float MaxAbsDiff(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length) throw new ArgumentException($"lengths differ: {a.Length} vs {b.Length}");
        float max = 0;
        for (int i = 0; i < a.Length; i++) max = MathF.Max(max, MathF.Abs(a[i] - b[i]));
        return max;
    }

    public static double Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; i++) { dot += (double)a[i] * b[i]; na += (double)a[i] * a[i]; nb += (double)b[i] * b[i]; }
        return dot / Math.Sqrt(na * nb);
    }
}
