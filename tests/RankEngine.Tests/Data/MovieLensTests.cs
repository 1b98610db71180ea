using System.IO.Compression;
using RankEngine.Data;
using RankEngine.Tests.Support;
using Xunit;

namespace RankEngine.Tests.Data;

/// <summary>The MovieLens reader on a hand-written fixture (CRLF, quoted titles with commas and doubled quotes).</summary>
public sealed class MovieLensTests
{
    private static string FixtureDir => Fixtures.Dir(Path.Combine("Data", "MovieLensMini"));

    private static void AssertFixtureContent(MovieLensDataset data)
    {
        Assert.Equal(new[] { 1, 11, 29, 7789, 171749, 176601, 27008 }, data.Movies.Select(m => m.Id));
        Assert.True(data.TryGetMovie(11, out var president));
        Assert.Equal("American President, The", president.Title);
        Assert.Equal(1995, president.Year);
        Assert.Equal(new[] { "Comedy", "Drama", "Romance" }, president.Genres);
        Assert.Equal(new[] { "\"quotable\"" }, president.Tags);

        Assert.True(data.TryGetMovie(7789, out var sept));
        Assert.Equal("11'09\"01 - September 11", sept.Title);
        Assert.Equal(2002, sept.Year);

        Assert.True(data.TryGetMovie(171749, out var deathNote));
        Assert.Equal("Death Note: Desu nôto", deathNote.Title);
        Assert.Equal(2006, deathNote.Year); // first year of "(2006–2007)"
        Assert.Empty(deathNote.Genres);      // "(no genres listed)"

        Assert.True(data.TryGetMovie(176601, out var mirror));
        Assert.Equal("Black Mirror", mirror.Title);
        Assert.Null(mirror.Year);

        Assert.True(data.TryGetMovie(27008, out var dusk)); // trailing space after the year in the file
        Assert.Equal("From Dusk Till Dawn 2: Texas Blood Money", dusk.Title);
        Assert.Equal(1999, dusk.Year);

        // pixar ×3 (three spellings, first kept), funny ×2, then single tags in order of appearance.
        Assert.True(data.TryGetMovie(1, out var toy));
        Assert.Equal(new[] { "pixar", "funny", "toys, talking", "classic" }, toy.Tags);
        Assert.True(data.TryGetMovie(29, out var city));
        Assert.Equal(new[] { "surreal dream" }, city.Tags); // inner runs of spaces collapsed

        Assert.Equal(6, data.Ratings.Count);
        Assert.Equal(new MovieRating(1, 11, 2.5f, 964981247), data.Ratings[1]);
        Assert.Equal(new MovieRating(3, 176601, 4.5f, 1500000000), data.Ratings[5]);
    }

    [Fact]
    public void ReadsAnExtractedDirectory() => AssertFixtureContent(MovieLensDataset.Load(FixtureDir));

    [Fact]
    public void ReadsTheZipWithFilesInASubdirectory()
    {
        using var tmp = Fixtures.TempDir();
        string zip = tmp.File("ml-mini.zip");
        using (var archive = ZipFile.Open(zip, ZipArchiveMode.Create))
            foreach (var name in new[] { "movies.csv", "ratings.csv", "tags.csv" })
                archive.CreateEntryFromFile(Path.Combine(FixtureDir, name), "ml-mini/" + name);
        AssertFixtureContent(MovieLensDataset.Load(zip));
    }

    [Fact]
    public void ItemTextPutsTheArticleFirstAndCapsTags()
    {
        var data = MovieLensDataset.Load(FixtureDir);
        data.TryGetMovie(1, out var toy);
        Assert.Equal("Toy Story (1995). Genres: Adventure, Animation, Children, Comedy, Fantasy. Tags: pixar, funny", MovieLensDataset.ItemText(toy, maxTags: 2));
        Assert.Equal("Toy Story (1995). Genres: Adventure, Animation, Children, Comedy, Fantasy", MovieLensDataset.ItemText(toy, maxTags: 0));
        data.TryGetMovie(29, out var city);
        Assert.Equal("The City of Lost Children (Cité des enfants perdus, La) (1995). Genres: Adventure, Drama, Fantasy, Mystery, Sci-Fi. Tags: surreal dream",
            MovieLensDataset.ItemText(city));
        data.TryGetMovie(176601, out var mirror);
        Assert.Equal("Black Mirror", MovieLensDataset.ItemText(mirror));
        data.TryGetMovie(171749, out var deathNote);
        Assert.Equal("Death Note: Desu nôto (2006)", MovieLensDataset.ItemText(deathNote));
        Assert.Equal("L'Avventura", MovieLensDataset.DisplayTitle("Avventura, L'"));
        Assert.Equal("An Officer and a Gentleman", MovieLensDataset.DisplayTitle("Officer and a Gentleman, An"));
        Assert.Equal("Crouching Tiger, Hidden Dragon", MovieLensDataset.DisplayTitle("Crouching Tiger, Hidden Dragon"));
    }

    private static TempDir CopyFixture(string file, string content)
    {
        var tmp = Fixtures.TempDir();
        foreach (var name in new[] { "movies.csv", "ratings.csv", "tags.csv" })
            File.Copy(Path.Combine(FixtureDir, name), tmp.File(name));
        File.WriteAllText(tmp.File(file), content);
        return tmp;
    }

    [Theory]
    [InlineData("movies.csv", "movieId,title,genres\n1,Toy Story (1995),Comedy\n2,\"Unclosed (1995),Drama\n", "movies.csv line 3", "unterminated")]
    [InlineData("movies.csv", "movieId,title,genres\n1,Toy Story (1995),Comedy\n2,\"Bad\"x (1995),Drama\n", "movies.csv line 3", "after a closing quote")]
    [InlineData("movies.csv", "movieId,title,genres\n1,Toy Story (1995),Comedy\n2,Heat, (1995),Drama\n", "movies.csv line 3", "expected 3 fields")]
    [InlineData("movies.csv", "movieId,title,genres\n1,Toy Story (1995),Comedy\nx,Heat (1995),Drama\n", "movies.csv line 3", "movieId 'x'")]
    [InlineData("movies.csv", "movieId,title,genres\n1,Toy Story (1995),Comedy\n1,Heat (1995),Drama\n", "movies.csv line 3", "already defined on line 2")]
    [InlineData("movies.csv", "movieId,name,genres\n1,Toy Story (1995),Comedy\n", "movies.csv line 1", "missing column 'title'")]
    [InlineData("ratings.csv", "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n\n1,999,4.0,964982703\n", "ratings.csv line 4", "movie 999 is not in movies.csv")]
    [InlineData("ratings.csv", "userId,movieId,rating,timestamp\n1,1,four,964982703\n", "ratings.csv line 2", "rating 'four'")]
    [InlineData("ratings.csv", "userId,movieId,rating,timestamp\n1,1,4.0,yesterday\n", "ratings.csv line 2", "timestamp 'yesterday'")]
    [InlineData("tags.csv", "userId,movieId,tag,timestamp\n1,1,\"multi\nline\",1\n1,5,x,1\n", "tags.csv line 4", "movie 5 is not in movies.csv")]
    [InlineData("ratings.csv", "", "ratings.csv", "empty")]
    public void BadInputNamesFileAndLine(string file, string content, string where, string what)
    {
        using var tmp = CopyFixture(file, content);
        var e = Assert.Throws<DataFormatException>(() => MovieLensDataset.Load(tmp.Path));
        Assert.Contains(where, e.Message);
        Assert.Contains(what, e.Message);
    }

    [Fact]
    public void MissingFilesAreClearErrors()
    {
        using var tmp = Fixtures.TempDir();
        Assert.Contains("does not exist", Assert.Throws<FileNotFoundException>(() => MovieLensDataset.Load(tmp.File("nope.zip"))).Message);
        Assert.Contains("no movies.csv", Assert.Throws<FileNotFoundException>(() => MovieLensDataset.Load(tmp.Path)).Message);
        File.Copy(Path.Combine(FixtureDir, "movies.csv"), tmp.File("movies.csv"));
        Assert.Contains("no ratings.csv", Assert.Throws<FileNotFoundException>(() => MovieLensDataset.Load(tmp.Path)).Message);
        File.WriteAllText(tmp.File("broken.zip"), "not a zip");
        Assert.Contains("broken.zip", Assert.Throws<DataFormatException>(() => MovieLensDataset.Load(tmp.File("broken.zip"))).Message);
    }

    [Fact]
    public void TagsFileIsOptional()
    {
        using var tmp = Fixtures.TempDir();
        File.Copy(Path.Combine(FixtureDir, "movies.csv"), tmp.File("movies.csv"));
        File.Copy(Path.Combine(FixtureDir, "ratings.csv"), tmp.File("ratings.csv"));
        var data = MovieLensDataset.Load(tmp.Path);
        Assert.All(data.Movies, m => Assert.Empty(m.Tags));
    }

    /// <summary>The committed dataset: counts from its README (9,742 movies, 100,836 ratings, 610 users).</summary>
    [Fact]
    public void ReadsTheCommittedMlLatestSmall()
    {
        var data = MovieLensDataset.Load(Path.Combine(Fixtures.RepoRoot, "data", "ml-latest-small.zip"));
        Assert.Equal(9742, data.Movies.Count);
        Assert.Equal(100836, data.Ratings.Count);
        Assert.Equal(610, data.Ratings.Select(r => r.UserId).Distinct().Count());
        Assert.True(data.TryGetMovie(29, out var city));
        Assert.Equal("City of Lost Children, The (Cité des enfants perdus, La)", city.Title);
        Assert.Equal(1995, city.Year);
        Assert.Equal(9742 - 12, data.Movies.Count(m => m.Year is not null)); // 12 titles carry no "(year)" (Python csv + regex count)
    }
}
