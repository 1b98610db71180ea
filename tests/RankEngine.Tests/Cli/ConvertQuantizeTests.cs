using RankEngine.Model;
using RankEngine.Tests.Support;
using Xunit;

namespace RankEngine.Tests.Cli;

/// <summary><c>rankengine convert --quantize int8</c> through the real CLI: what the file holds and says about itself.</summary>
public sealed class ConvertQuantizeTests
{
    [Fact]
    public void Quantize_int8_stores_int8_matrices_and_records_how()
    {
        using var dir = new TempDir();
        string path = dir.File("tiny-int8.rem");
        var r = CliErrorTests.Run("convert", "--from", "safetensors", Fixtures.Dir("TinyBert"), "--quantize", "int8", "--out", path);
        Assert.True(r.Exit == 0, r.Stderr);
        using var file = WeightFile.Open(path);
        var types = file.TensorNames.Select(n => (n, file.Get(n))).ToList();
        // Every 2-D matrix that the GEMM multiplies is int8; embeddings (tables), norms and biases stay fp32.
        Assert.Contains(types, t => t.Item2.Type == TensorType.I8);
        Assert.All(types.Where(t => t.Item2.Type == TensorType.I8), t => Assert.Equal(2, t.Item2.Shape.Length));
        Assert.All(types.Where(t => t.n.Contains("bias") || t.n.Contains("norm")), t => Assert.Equal(TensorType.F32, t.Item2.Type));
        Assert.Contains("per output row", file.Metadata["quantization.i8"]);
    }

    [Fact]
    public void Quantize_int8_with_a_different_dtype_is_one_clear_error()
    {
        using var dir = new TempDir();
        var r = CliErrorTests.Run("convert", "--from", "safetensors", Fixtures.Dir("TinyBert"), "--quantize", "int8", "--dtype", "f16",
            "--out", dir.File("x.rem"));
        Assert.Equal(2, r.Exit);
        Assert.Contains("--quantize int8", r.Stderr);
        Assert.DoesNotContain("Exception", r.Stderr);
        Assert.False(File.Exists(dir.File("x.rem")));

        r = CliErrorTests.Run("convert", "--from", "safetensors", Fixtures.Dir("TinyBert"), "--quantize", "int4", "--out", dir.File("x.rem"));
        Assert.NotEqual(0, r.Exit);
        Assert.Contains("int8", r.Stderr);
    }
}
