using RankEngine.Data;
using RankEngine.Ranking;
using RankEngine.Tests.Support;
using Xunit;
using RankEngine.Store;

namespace RankEngine.Tests.Data;

/// <summary>The generic items/events reader (CSV and JSONL) and the MovieLens → items/events mapping.</summary>
public sealed class InteractionDataTests
{
    [Fact]
    public void CsvItemsGetTypedFieldsByColumn()
    {
        using var tmp = Fixtures.TempDir();
        File.WriteAllText(tmp.File("items.csv"),
            "id,title,year,genres,studio\n" +
            "a,\"Heat, the movie\",1995,Action|Crime,WB\n" +
            "b,Up,2009,Animation,\n" +
            "c,Cars,,Animation|Comedy|,Pixar\n");
        var items = InteractionData.ReadItems(tmp.File("items.csv"));
        Assert.Equal(new[] { "a", "b", "c" }, items.Select(i => i.Id));
        Assert.Equal("Heat, the movie", items[0].Text); // no 'text' column: the title is the text
        Assert.Equal("Heat, the movie", items[0].Fields.Strings["title"]);
        Assert.Equal(1995, items[0].Fields.Numbers["year"]);
        Assert.Equal(new[] { "Action", "Crime" }, items[0].Fields.Tags["genres"]);
        Assert.Equal(new[] { "Animation" }, items[1].Fields.Tags["genres"]); // column holds '|' somewhere: a tag set
        Assert.Equal("WB", items[0].Fields.Strings["studio"]);
        Assert.False(items[1].Fields.Strings.ContainsKey("studio")); // empty value: left out
        Assert.False(items[2].Fields.Numbers.ContainsKey("year"));
        Assert.Equal(new[] { "Animation", "Comedy" }, items[2].Fields.Tags["genres"]);
    }

    [Fact]
    public void JsonLinesItemsAndEvents()
    {
        using var tmp = Fixtures.TempDir();
        File.WriteAllText(tmp.File("items.jsonl"),
            "{\"id\": 7, \"title\": \"Up\", \"text\": \"Up (2009), a balloon house\", \"year\": 2009, \"genres\": [\"Animation\", \"Drama\"]}\n" +
            "\n" +
            "{\"id\": \"x1\", \"title\": \"Cars\", \"rating\": null}\n");
        File.WriteAllText(tmp.File("events.jsonl"),
            "{\"user\": 1, \"item\": 7, \"kind\": \"purchase\", \"weight\": 2, \"timestamp\": 1700000000}\n" +
            "{\"user\": \"u2\", \"item\": \"x1\", \"rating\": 1.5, \"timestamp\": \"2024-01-02T00:00:00Z\"}\n");
        var data = InteractionData.Load(tmp.File("items.jsonl"), tmp.File("events.jsonl"));
        Assert.Equal(new[] { "7", "x1" }, data.Items.Select(i => i.Id));
        Assert.Equal("Up (2009), a balloon house", data.Items[0].Text);
        Assert.Equal("Up", data.Items[0].Fields.Strings["title"]);
        Assert.Equal(2009, data.Items[0].Fields.Numbers["year"]);
        Assert.Equal(new[] { "Animation", "Drama" }, data.Items[0].Fields.Tags["genres"]);
        Assert.Equal("Cars", data.Items[1].Text);
        Assert.Equal(new InteractionEvent("1", "7", UserEventKind.Purchase, 2f, null, 1700000000), data.Events[0]);
        Assert.Equal(new InteractionEvent("u2", "x1", UserEventKind.Dislike, 1f, 1.5f, 1704153600), data.Events[1]); // ≤ 2 stars: dislike
    }

    [Fact]
    public void JsonLinesItemsMayNestTheirFieldsInAFieldsObject()
    {
        using var tmp = Fixtures.TempDir();
        File.WriteAllText(tmp.File("items.jsonl"),
            "{\"id\": \"m1\", \"text\": \"a heist film in space\", \"fields\": {\"year\": 2024, \"genres\": [\"Sci-Fi\", \"Crime\"], \"studio\": \"Acme\"}}\n" +
            "{\"id\": \"m2\", \"fields\": {\"title\": \"Cars\", \"text\": \"a field named text\"}, \"year\": 2006}\n");
        var data = InteractionData.Load(tmp.File("items.jsonl"));
        var m1 = data.Items[0];
        Assert.Equal("a heist film in space", m1.Text);
        Assert.Equal(2024, m1.Fields.Numbers["year"]);
        Assert.Equal(new[] { "Sci-Fi", "Crime" }, m1.Fields.Tags["genres"]);
        Assert.Equal("Acme", m1.Fields.Strings["studio"]);
        Assert.False(m1.Fields.Strings.ContainsKey("fields"));
        var m2 = data.Items[1];
        Assert.Equal("Cars", m2.Text); // a nested title is the text fallback; a nested "text" is an ordinary field
        Assert.Equal("a field named text", m2.Fields.Strings["text"]);
        Assert.Equal(2006, m2.Fields.Numbers["year"]);

        File.WriteAllText(tmp.File("twice.jsonl"), "{\"id\": \"a\", \"title\": \"Up\", \"year\": 1, \"fields\": {\"year\": 2}}\n");
        var e = Assert.Throws<DataFormatException>(() => InteractionData.Load(tmp.File("twice.jsonl")));
        Assert.Contains("field 'year' is given twice", e.Message);
        File.WriteAllText(tmp.File("deep.jsonl"), "{\"id\": \"a\", \"title\": \"Up\", \"fields\": {\"meta\": {\"x\": 1}}}\n");
        Assert.Contains("field 'meta' is a Object", Assert.Throws<DataFormatException>(() => InteractionData.Load(tmp.File("deep.jsonl"))).Message);
    }

    [Fact]
    public void CsvEventsMapRatingsToKindsUnlessAKindIsGiven()
    {
        using var tmp = Fixtures.TempDir();
        File.WriteAllText(tmp.File("events.csv"),
            "userId,itemId,kind,rating,timestamp\n" +
            "u1,a,,4.5,100\n" +
            "u1,b,,3,101\n" +
            "u2,a,skip,5,102\n" +
            "u2,b,,2.0,103\n");
        var events = InteractionData.ReadEvents(tmp.File("events.csv"));
        Assert.Equal(new[] { UserEventKind.Like, UserEventKind.View, UserEventKind.Skip, UserEventKind.Dislike }, events.Select(e => e.Kind));
        Assert.Equal(new float?[] { 4.5f, 3f, 5f, 2f }, events.Select(e => e.Rating));
        Assert.Equal(new long[] { 100, 101, 102, 103 }, events.Select(e => e.Timestamp));
        var strict = new RatingMapping { LikeAtLeast = 5f, DislikeAtMost = 1f };
        Assert.Equal(new[] { UserEventKind.View, UserEventKind.View, UserEventKind.Skip, UserEventKind.View },
            InteractionData.ReadEvents(tmp.File("events.csv"), strict).Select(e => e.Kind));
    }

    [Theory]
    [InlineData("items.csv", "id,title\na,Up\na,Cars\n", "items.csv line 3", "already defined on line 2")]
    [InlineData("items.csv", "id,year\na,1995\n", "items.csv line 1", "missing column 'text'")]
    [InlineData("items.csv", "title,year\nUp,1995\n", "items.csv line 1", "missing column 'id'")]
    [InlineData("items.jsonl", "{\"id\":\"a\",\"title\":\"Up\"}\n{\"id\":\"b\",\"title\":\n", "items.jsonl line 2", "not valid JSON")]
    [InlineData("items.jsonl", "{\"id\":\"a\",\"title\":\"Up\",\"adult\":true}\n", "items.jsonl line 1", "field 'adult'")]
    [InlineData("items.jsonl", "[1,2]\n", "items.jsonl line 1", "one JSON object per line")]
    public void BadItemFilesNameFileAndLine(string file, string content, string where, string what)
    {
        using var tmp = Fixtures.TempDir();
        File.WriteAllText(tmp.File(file), content);
        var e = Assert.Throws<DataFormatException>(() => InteractionData.ReadItems(tmp.File(file)));
        Assert.Contains(where, e.Message);
        Assert.Contains(what, e.Message);
    }

    [Theory]
    [InlineData("events.csv", "user,item,kind\nu,a,like\nu,zz,like\n", "events.csv line 3", "item 'zz' is not in the items file")]
    [InlineData("events.csv", "user,item,kind\nu,a,love\n", "events.csv line 2", "unknown event kind 'love'")]
    [InlineData("events.csv", "user,item,kind\nu,a,3\n", "events.csv line 2", "unknown event kind '3'")]
    [InlineData("events.csv", "user,item\nu,a\n", "events.csv line 1", "missing column 'kind'")]
    [InlineData("events.csv", "user,item,rating,timestamp\nu,a,4,last week\n", "events.csv line 2", "timestamp 'last week'")]
    [InlineData("events.csv", "user,item,kind,weight\nu,a,like,-1\n", "events.csv line 2", "weight '-1'")]
    [InlineData("events.csv", "user,item,kind,rating\nu,a,,\n", "events.csv line 2", "neither a kind nor a rating")]
    [InlineData("events.jsonl", "{\"user\":\"u\",\"kind\":\"like\"}\n", "events.jsonl line 1", "no item")]
    public void BadEventFilesNameFileAndLine(string file, string content, string where, string what)
    {
        using var tmp = Fixtures.TempDir();
        File.WriteAllText(tmp.File("items.csv"), "id,title\na,Up\n");
        File.WriteAllText(tmp.File(file), content);
        var e = Assert.Throws<DataFormatException>(() => InteractionData.Load(tmp.File("items.csv"), tmp.File(file)));
        Assert.Contains(where, e.Message);
        Assert.Contains(what, e.Message);
    }

    [Fact]
    public void UnknownExtensionsAndMissingFilesAreClearErrors()
    {
        using var tmp = Fixtures.TempDir();
        File.WriteAllText(tmp.File("items.txt"), "id,title\n");
        Assert.Contains("unknown data file type", Assert.Throws<ArgumentException>(() => InteractionData.Load(tmp.File("items.txt"))).Message);
        Assert.Contains("does not exist", Assert.Throws<FileNotFoundException>(() => InteractionData.Load(tmp.File("missing.csv"))).Message);
    }

    [Fact]
    public void MovieLensBecomesItemsAndEvents()
    {
        var data = InteractionData.Load(Fixtures.Dir(Path.Combine("Data", "MovieLensMini")));
        Assert.Equal(7, data.Items.Count);
        var president = data.Items.Single(i => i.Id == "11");
        Assert.Equal("The American President (1995). Genres: Comedy, Drama, Romance. Tags: \"quotable\"", president.Text);
        Assert.Equal("The American President", president.Fields.Strings["title"]);
        Assert.Equal(1995, president.Fields.Numbers["year"]);
        Assert.Equal(new[] { "Comedy", "Drama", "Romance" }, president.Fields.Tags["genres"]);
        // Ratings 4.0, 2.5, 5.0, 0.5, 3.0, 4.5 → like, view, like, dislike, view, like.
        Assert.Equal(new[] { UserEventKind.Like, UserEventKind.View, UserEventKind.Like, UserEventKind.Dislike, UserEventKind.View, UserEventKind.Like },
            data.Events.Select(e => e.Kind));
        Assert.Equal(new InteractionEvent("2", "7789", UserEventKind.View, 1f, 3f, 1445715000), data.Events[4]);
        Assert.Throws<ArgumentException>(() => InteractionData.Load(Fixtures.Dir(Path.Combine("Data", "MovieLensMini")), "events.csv"));
    }

    [Fact]
    public void CsvReaderTracksLinesAcrossQuotedLineBreaks()
    {
        var csv = new CsvReader(new StringReader("a,\"x\r\ny\"\r\n\r\nb,\"say \"\"hi\"\"\",\n\"c\""), "t.csv");
        var fields = new List<string>();
        Assert.True(csv.ReadRecord(fields));
        Assert.Equal(new[] { "a", "x\r\ny" }, fields);
        Assert.Equal(1, csv.RecordLine);
        Assert.True(csv.ReadRecord(fields));
        Assert.Equal(new[] { "b", "say \"hi\"", "" }, fields);
        Assert.Equal(4, csv.RecordLine);
        Assert.True(csv.ReadRecord(fields));
        Assert.Equal(new[] { "c" }, fields);
        Assert.Equal(5, csv.RecordLine);
        Assert.False(csv.ReadRecord(fields));
    }
}
