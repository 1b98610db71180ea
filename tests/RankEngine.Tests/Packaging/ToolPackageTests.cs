using System.IO.Compression;
using System.Xml.Linq;
using RankEngine.Tests.Compat;
using RankEngine.Tests.Support;
using Xunit;

namespace RankEngine.Tests.Packaging;

/// <summary>
/// <c>dotnet pack</c> gives NuGet packages with full metadata and a readme, and the CLI package installs as a .NET
/// tool (<c>dotnet tool install --tool-path … --add-source …</c>) whose <c>rankengine</c> runs. Packs the already built
/// Release output (<c>--no-build</c>) into a temporary folder that is the only package source of the install.
/// </summary>
public sealed class ToolPackageTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private async Task PackAsync(string project)
    {
        var r = await ExternalTool.RunAsync("dotnet", ["pack", project, "-c", "Release", "--no-build", "--nologo", "-v", "q", "-o", _dir.File("packages")], timeoutSeconds: 300);
        Assert.True(r.ExitCode == 0, r.Both);
    }

    private XElement Nuspec(string id)
    {
        string path = Directory.GetFiles(_dir.File("packages"), "*.nupkg")
            .Single(p => System.Text.RegularExpressions.Regex.IsMatch(Path.GetFileName(p), $@"^{System.Text.RegularExpressions.Regex.Escape(id)}\.\d"));
        using var zip = ZipFile.OpenRead(path);
        Assert.NotNull(zip.GetEntry("README.md"));
        using var stream = zip.GetEntry($"{id}.nuspec")!.Open();
        return XDocument.Load(stream).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
    }

    private static string Field(XElement metadata, string name) => metadata.Elements().SingleOrDefault(e => e.Name.LocalName == name)?.Value ?? "";

    [Fact]
    public async Task PackagesHaveMetadataAndTheToolInstallsAndRuns()
    {
        foreach (var project in new[] { "kernels/RankEngine.Kernels", "src/RankEngine", "src/RankEngine.Client", "src/RankEngine.Cli" })
            await PackAsync(project);

        foreach (var id in new[] { "RankEngine", "RankEngine.Client", "RankEngine.Cli" })
        {
            var metadata = Nuspec(id);
            Assert.Equal(id, Field(metadata, "id"));
            Assert.Matches(@"^\d+\.\d+\.\d+", Field(metadata, "version"));
            Assert.True(Field(metadata, "description").Length > 40, $"{id}: description");
            Assert.NotEmpty(Field(metadata, "authors"));
            Assert.NotEmpty(Field(metadata, "license"));
            Assert.Equal("README.md", Field(metadata, "readme"));
        }
        Assert.Contains(Nuspec("RankEngine.Cli").Descendants(), e => e.Name.LocalName == "packageType" && (string?)e.Attribute("name") == "DotnetTool");

        // Only the local folder as a source, and a fresh package cache: the tool comes from what was just packed.
        File.WriteAllText(_dir.File("nuget.config"),
            $"<?xml version=\"1.0\" encoding=\"utf-8\"?><configuration><packageSources><clear /><add key=\"local\" value=\"{_dir.File("packages")}\" /></packageSources></configuration>");
        var install = await ExternalTool.RunAsync("dotnet",
            ["tool", "install", "RankEngine.Cli", "--tool-path", _dir.File("tools"), "--configfile", _dir.File("nuget.config"), "--add-source", _dir.File("packages")],
            timeoutSeconds: 300, env: new() { ["NUGET_PACKAGES"] = _dir.File("nuget-cache") });
        Assert.True(install.ExitCode == 0, install.Both);

        var help = await ExternalTool.RunAsync(_dir.File("tools/rankengine"), ["--help"], timeoutSeconds: 60);
        Assert.True(help.ExitCode == 0, help.Both);
        Assert.Contains("rankengine [command] [options]", help.Stdout);
        Assert.Contains("serve", help.Stdout);
        var version = await ExternalTool.RunAsync(_dir.File("tools/rankengine"), ["--version"], timeoutSeconds: 60);
        Assert.Equal(Field(Nuspec("RankEngine.Cli"), "version"), version.Stdout.Trim().Split('+')[0]);
    }
}
