using System.Text;
using System.Text.Json;
using RankEngine.Tests.Support;
using RankEngine.Text.Normalization;
using Xunit;

namespace RankEngine.Tests.Text;

/// <summary>Our NFKC against JavaScript's String.prototype.normalize("NFKC") (fixture written by Node's ICU).</summary>
public class NfkcTests
{
    [Fact]
    public void EveryCodePointTheReferenceChangesIsChangedTheSameWay()
    {
        using var fixture = UseLiteFiles.ReadFixture("nfkc-cases.json");
        var changed = fixture.RootElement.GetProperty("changedCodePoints");
        Assert.True(changed.GetArrayLength() > 4000);
        var failures = new StringBuilder();
        var expectedChanged = new HashSet<int>();
        foreach (var pair in changed.EnumerateArray())
        {
            int cp = pair[0].GetInt32();
            expectedChanged.Add(cp);
            string want = pair[1].GetString()!;
            string got = Nfkc.Normalize(char.ConvertFromUtf32(cp));
            if (got != want) failures.AppendLine($"U+{cp:X4}: reference {Escape(want)}, ours {Escape(got)}");
        }
        // And every other code point is left alone.
        for (int cp = 0; cp <= 0x10FFFF; cp++)
        {
            if (cp is >= 0xD800 and <= 0xDFFF || expectedChanged.Contains(cp)) continue;
            string s = char.ConvertFromUtf32(cp);
            string got = Nfkc.Normalize(s);
            if (got != s) failures.AppendLine($"U+{cp:X4}: reference unchanged, ours {Escape(got)}");
        }
        Assert.True(failures.Length == 0, failures.ToString());
    }

    [Fact]
    public void MixedStringsMatchTheReference()
    {
        using var fixture = UseLiteFiles.ReadFixture("nfkc-cases.json");
        foreach (var pair in fixture.RootElement.GetProperty("mixed").EnumerateArray())
        {
            string text = pair[0].GetString()!;
            Assert.Equal(Escape(pair[1].GetString()!), Escape(Nfkc.Normalize(text)));
        }
    }

    [Fact]
    public void UnpairedSurrogatesAreKeptAndActAsStarters()
    {
        using var fixture = UseLiteFiles.ReadFixture("nfkc-cases.json");
        foreach (var entry in fixture.RootElement.GetProperty("loneSurrogate").EnumerateArray())
        {
            string text = Units(entry.GetProperty("utf16"));
            string want = Units(entry.GetProperty("nfkcUtf16"));
            Assert.Equal(Escape(want), Escape(Nfkc.Normalize(text)));
        }
    }

    [Fact]
    public void HandCheckedCompositionsAndOrdering()
    {
        Assert.Equal("\u00E9", Nfkc.Normalize("e\u0301"));                 // composes
        Assert.Equal("\u1EC7", Nfkc.Normalize("e\u0302\u0323"));           // reordered (dot below 220 < circumflex 230), then composed
        Assert.Equal("\uAC01", Nfkc.Normalize("\u1100\u1161\u11A8"));       // Hangul L V T
        Assert.Equal("fi", Nfkc.Normalize("\uFB01"));                       // compatibility ligature
        Assert.Equal("\u00C5\u0338", Nfkc.Normalize("A\u0338\u030A"));       // ring (230) not blocked by overlay (1)
        Assert.Equal("\u00C1\u0301", Nfkc.Normalize("A\u0301\u0301"));       // second acute: no composite with Á
        Assert.Equal("\u0B4B", Nfkc.Normalize("\u0B47\u0B3E"));               // two starters compose when adjacent
        Assert.Equal("\u00E1\u05B0", Nfkc.Normalize("a\u05B0\u0301"));       // reordered by class, then composed
        Assert.Equal("\u1EB9\u0301", Nfkc.Normalize("\u00E9\u0323"));        // é is decomposed so the dot below goes first
        Assert.Equal("\uAC01", Nfkc.Normalize("\uAC00\u11A8"));               // Hangul LV + T
    }

    [Fact]
    public void StableTextIsReturnedAsTheSameInstance()
    {
        string ascii = "Toy Story (1995)";
        Assert.Same(ascii, Nfkc.Normalize(ascii));
        string cjk = "日本語のテキスト";
        Assert.Same(cjk, Nfkc.Normalize(cjk));
        string precomposed = "Amélie, Léon, Smörgåsbord, 한국어"; // decomposable but recomposing to themselves
        Assert.Same(precomposed, Nfkc.Normalize(precomposed));
        Assert.Throws<ArgumentNullException>(() => Nfkc.Normalize(null!));
    }

    private static string Units(JsonElement array)
    {
        var chars = new char[array.GetArrayLength()];
        int i = 0;
        foreach (var u in array.EnumerateArray()) chars[i++] = (char)u.GetInt32();
        return new string(chars);
    }

    private static string Escape(string s)
    {
        var b = new StringBuilder();
        foreach (char c in s) b.Append(c < 0x80 && c >= 0x20 ? c.ToString() : $"\\u{(int)c:X4}");
        return b.ToString();
    }
}
