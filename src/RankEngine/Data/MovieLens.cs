using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;

namespace RankEngine.Data;

/// <summary>A MovieLens movie.</summary>
/// <param name="Id">movieId.</param>
/// <param name="Title">The title as in movies.csv, without the trailing "(year)" (e.g. "American President, The").</param>
/// <param name="Year">Release year parsed from "(1995)" (first year of a range such as "(2006–2007)"); null when absent.</param>
/// <param name="Genres">Genres in file order; empty for "(no genres listed)".</param>
/// <param name="Tags">User tags of the movie, deduplicated case-insensitively (first spelling kept), most applied first,
/// ties in order of first appearance.</param>
internal sealed record Movie(int Id, string Title, int? Year, IReadOnlyList<string> Genres, IReadOnlyList<string> Tags);

/// <summary>One rating from ratings.csv.</summary>
/// <param name="UserId">userId.</param>
/// <param name="MovieId">movieId (always a movie of <see cref="MovieLensDataset.Movies"/>).</param>
/// <param name="Rating">Stars, 0.5–5.0 in MovieLens.</param>
/// <param name="Timestamp">Unix seconds.</param>
internal readonly record struct MovieRating(int UserId, int MovieId, float Rating, long Timestamp);

/// <summary>
/// Reads a MovieLens "latest" style dataset (ml-latest-small, ml-latest, ml-25m, ml-32m…): movies.csv
/// (movieId,title,genres), ratings.csv (userId,movieId,rating,timestamp) and, if present, tags.csv
/// (userId,movieId,tag,timestamp), from the published zip or from an extracted directory. Columns are found by
/// header name; quoted fields (titles with commas and doubled quotes) are handled. Bad input — a missing file,
/// a malformed line, a rating of an unknown movie — throws <see cref="DataFormatException"/> naming file and line.
/// </summary>
internal sealed partial class MovieLensDataset
{
    /// <summary>Tags per item text by default (<see cref="ItemText"/>).</summary>
    public const int DefaultMaxTags = 10;

    private readonly Dictionary<int, int> _movieIndex;

    /// <summary>Movies in file order.</summary>
    public IReadOnlyList<Movie> Movies { get; }
    /// <summary>Ratings in file order.</summary>
    public IReadOnlyList<MovieRating> Ratings { get; }
    /// <summary>Where the data came from (path), for messages.</summary>
    public string Source { get; }

    public MovieLensDataset(IReadOnlyList<Movie> movies, IReadOnlyList<MovieRating> ratings, string source)
    {
        Movies = movies;
        Ratings = ratings;
        Source = source;
        _movieIndex = new Dictionary<int, int>(movies.Count);
        for (int i = 0; i < movies.Count; i++)
            if (!_movieIndex.TryAdd(movies[i].Id, i)) throw new ArgumentException($"movie {movies[i].Id} appears twice");
    }

    public bool TryGetMovie(int movieId, out Movie movie)
    {
        if (_movieIndex.TryGetValue(movieId, out int i)) { movie = Movies[i]; return true; }
        movie = null!;
        return false;
    }

    /// <summary>Position of a movie in <see cref="Movies"/>, or -1.</summary>
    public int IndexOf(int movieId) => _movieIndex.TryGetValue(movieId, out int i) ? i : -1;

    /// <summary>True when <paramref name="path"/> looks like a MovieLens zip or a directory holding movies.csv.</summary>
    public static bool LooksLikeMovieLens(string path) =>
        (File.Exists(path) && path.EndsWith(".zip", StringComparison.OrdinalIgnoreCase)) || (Directory.Exists(path) && FindDirectory(path) is not null);

    /// <summary>Loads from a .zip (as published) or a directory (movies.csv inside it or in its one subdirectory).</summary>
    /// <exception cref="FileNotFoundException">The path or a required file is missing.</exception>
    /// <exception cref="DataFormatException">A file is malformed (message names the file and line).</exception>
    public static MovieLensDataset Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (File.Exists(path))
        {
            if (!path.EndsWith(".zip", StringComparison.OrdinalIgnoreCase))
                throw new ArgumentException($"'{path}' is not a MovieLens .zip (or a directory holding movies.csv and ratings.csv)");
            using var zip = OpenZip(path);
            var entries = zip.Entries.Where(e => !e.FullName.Contains("__MACOSX", StringComparison.Ordinal)).ToList();
            ZipArchiveEntry? Entry(string name)
            {
                var matches = entries.Where(e => e.Name.Equals(name, StringComparison.OrdinalIgnoreCase)).ToList();
                if (matches.Count > 1)
                    throw new DataFormatException(path, 0, $"the archive holds {matches.Count} files named {name}: {string.Join(", ", matches.Select(m => m.FullName))}");
                return matches.Count == 1 ? matches[0] : null;
            }
            var movies = Entry("movies.csv") ?? throw new FileNotFoundException($"'{path}' holds no movies.csv: not a MovieLens archive");
            var ratings = Entry("ratings.csv") ?? throw new FileNotFoundException($"'{path}' holds no ratings.csv: not a MovieLens archive");
            var tags = Entry("tags.csv");
            string zipName = Path.GetFileName(path);
            CsvReader Open(ZipArchiveEntry e) => new(new StreamReader(e.Open(), Encoding.UTF8, true), $"{zipName}:{e.FullName}");
            using var m = Open(movies);
            using var r = Open(ratings);
            using var t = tags is null ? null : Open(tags);
            return Read(m, r, t, path);
        }
        if (Directory.Exists(path))
        {
            string dir = FindDirectory(path) ?? throw new FileNotFoundException($"'{path}' holds no movies.csv (nor does a single subdirectory of it): not a MovieLens directory");
            string ratingsPath = Path.Combine(dir, "ratings.csv"), tagsPath = Path.Combine(dir, "tags.csv");
            if (!File.Exists(ratingsPath)) throw new FileNotFoundException($"'{dir}' has movies.csv but no ratings.csv");
            using var m = CsvReader.OpenFile(Path.Combine(dir, "movies.csv"));
            using var r = CsvReader.OpenFile(ratingsPath);
            using var t = File.Exists(tagsPath) ? CsvReader.OpenFile(tagsPath) : null;
            return Read(m, r, t, path);
        }
        throw new FileNotFoundException($"MovieLens data '{path}' does not exist");
    }

    private static ZipArchive OpenZip(string path)
    {
        try
        {
            return ZipFile.OpenRead(path);
        }
        catch (InvalidDataException e)
        {
            throw new DataFormatException(path, 0, $"not a readable zip archive ({e.Message})", e);
        }
    }

    private static string? FindDirectory(string path)
    {
        if (File.Exists(Path.Combine(path, "movies.csv"))) return path;
        var subs = Directory.GetDirectories(path).Where(d => File.Exists(Path.Combine(d, "movies.csv"))).ToList();
        return subs.Count == 1 ? subs[0] : null;
    }

    /// <summary>Parses the three CSV streams (tags optional). <paramref name="source"/> names the dataset in messages.</summary>
    public static MovieLensDataset Read(CsvReader movies, CsvReader ratings, CsvReader? tags, string source)
    {
        var rows = ReadMovies(movies);
        var index = new Dictionary<int, int>(rows.Count);
        for (int i = 0; i < rows.Count; i++) index[rows[i].Id] = i;
        var tagLists = tags is null ? new Dictionary<int, List<string>>() : ReadTags(tags, index);
        var list = new Movie[rows.Count];
        for (int i = 0; i < rows.Count; i++)
        {
            var (id, title, year, genres) = rows[i];
            list[i] = new Movie(id, title, year, genres, tagLists.TryGetValue(id, out var t) ? t : Array.Empty<string>());
        }
        return new MovieLensDataset(list, ReadRatings(ratings, index), source);
    }

    private static List<(int Id, string Title, int? Year, string[] Genres)> ReadMovies(CsvReader csv)
    {
        var header = CsvHeader.Read(csv);
        int idCol = header.Require(csv, "movieId"), titleCol = header.Require(csv, "title"), genresCol = header.Require(csv, "genres");
        var result = new List<(int, string, int?, string[])>();
        var seen = new Dictionary<int, long>();
        var fields = new List<string>();
        while (csv.ReadRecord(fields))
        {
            CheckWidth(csv, fields, header);
            int id = ParseInt(csv, fields[idCol], "movieId");
            if (!seen.TryAdd(id, csv.RecordLine)) throw csv.Error($"movie {id} was already defined on line {seen[id]}");
            var (title, year) = SplitYear(fields[titleCol]);
            if (title.Length == 0) throw csv.Error($"movie {id} has an empty title");
            string genreText = fields[genresCol].Trim();
            string[] genres = genreText.Length == 0 || genreText.Equals("(no genres listed)", StringComparison.OrdinalIgnoreCase)
                ? Array.Empty<string>()
                : genreText.Split('|', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            result.Add((id, title, year, genres));
        }
        return result;
    }

    private static MovieRating[] ReadRatings(CsvReader csv, Dictionary<int, int> movies)
    {
        var header = CsvHeader.Read(csv);
        int userCol = header.Require(csv, "userId"), movieCol = header.Require(csv, "movieId");
        int ratingCol = header.Require(csv, "rating"), timeCol = header.Require(csv, "timestamp");
        var result = new List<MovieRating>();
        var fields = new List<string>();
        while (csv.ReadRecord(fields))
        {
            CheckWidth(csv, fields, header);
            int user = ParseInt(csv, fields[userCol], "userId");
            int movie = ParseInt(csv, fields[movieCol], "movieId");
            if (!movies.ContainsKey(movie)) throw csv.Error($"movie {movie} is not in movies.csv");
            if (!float.TryParse(fields[ratingCol], NumberStyles.Float, CultureInfo.InvariantCulture, out float rating) || !float.IsFinite(rating) || rating < 0)
                throw csv.Error($"rating '{fields[ratingCol]}' is not a non-negative number");
            long time = ParseLong(csv, fields[timeCol], "timestamp");
            result.Add(new MovieRating(user, movie, rating, time));
        }
        return result.ToArray();
    }

    private static Dictionary<int, List<string>> ReadTags(CsvReader csv, Dictionary<int, int> movies)
    {
        var header = CsvHeader.Read(csv);
        int movieCol = header.Require(csv, "movieId"), tagCol = header.Require(csv, "tag");
        // Per movie: tag (case-insensitive) → (count, first position, first spelling).
        var counts = new Dictionary<int, Dictionary<string, (int Count, int First, string Text)>>();
        var fields = new List<string>();
        int position = 0;
        while (csv.ReadRecord(fields))
        {
            CheckWidth(csv, fields, header);
            int movie = ParseInt(csv, fields[movieCol], "movieId");
            if (!movies.ContainsKey(movie)) throw csv.Error($"movie {movie} is not in movies.csv");
            string tag = CollapseSpaces(fields[tagCol]);
            if (tag.Length == 0) continue; // an empty tag carries nothing
            if (!counts.TryGetValue(movie, out var perMovie)) counts[movie] = perMovie = new(StringComparer.OrdinalIgnoreCase);
            perMovie[tag] = perMovie.TryGetValue(tag, out var c) ? (c.Count + 1, c.First, c.Text) : (1, position++, tag);
        }
        var result = new Dictionary<int, List<string>>(counts.Count);
        foreach (var (movie, perMovie) in counts)
            result[movie] = perMovie.Values.OrderByDescending(v => v.Count).ThenBy(v => v.First).Select(v => v.Text).ToList();
        return result;
    }

    private static void CheckWidth(CsvReader csv, List<string> fields, CsvHeader header)
    {
        if (fields.Count != header.Names.Count)
            throw csv.Error($"expected {header.Names.Count} fields ({string.Join(",", header.Names)}), found {fields.Count}" +
                            (fields.Count > header.Names.Count ? " (a field with a comma must be quoted)" : ""));
    }

    private static int ParseInt(CsvReader csv, string text, string column) =>
        int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v : throw csv.Error($"{column} '{text}' is not an integer");

    private static long ParseLong(CsvReader csv, string text, string column) =>
        long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) ? v : throw csv.Error($"{column} '{text}' is not an integer");

    [GeneratedRegex(@"^(?<title>.*?)\s*\(\s*(?<year>\d{4})\s*(?:[-–]\s*(?:\d{4})?\s*)?\)\s*$")]
    private static partial Regex YearSuffix();

    /// <summary>"Toy Story (1995)" → ("Toy Story", 1995); "Cosmos" → ("Cosmos", null); "(2006–2007)" gives 2006.</summary>
    public static (string Title, int? Year) SplitYear(string rawTitle)
    {
        string trimmed = CollapseSpaces(rawTitle);
        var m = YearSuffix().Match(trimmed);
        if (!m.Success || m.Groups["title"].Length == 0) return (trimmed, null);
        return (m.Groups["title"].Value, int.Parse(m.Groups["year"].ValueSpan, CultureInfo.InvariantCulture));
    }

    // MovieLens moves leading articles to the end of the main title: "American President, The",
    // "City of Lost Children, The (Cité des enfants perdus, La)".
    private static readonly string[] Articles = { "The", "A", "An", "Les", "Le", "La", "L'", "Il", "El", "Los", "Las", "Die", "Der", "Das" };

    /// <summary>
    /// The title as people write it: a trailing article of the main title is moved to the front
    /// ("American President, The" → "The American President"; "Avventura, L'" → "L'Avventura"); alternative titles
    /// in parentheses stay where they are.
    /// </summary>
    public static string DisplayTitle(string title)
    {
        int alt = title.IndexOf(" (", StringComparison.Ordinal);
        string main = alt > 0 ? title[..alt] : title, rest = alt > 0 ? title[alt..] : "";
        foreach (var article in Articles)
        {
            string suffix = ", " + article;
            if (main.Length > suffix.Length && main.EndsWith(suffix, StringComparison.Ordinal))
            {
                string head = main[..^suffix.Length];
                return (article.EndsWith('\'') ? article + head : article + " " + head) + rest;
            }
        }
        return title;
    }

    /// <summary>
    /// The text the encoder sees for a movie: <c>"Title (Year). Genres: A, B. Tags: x, y"</c>. The title has its
    /// article in front (<see cref="DisplayTitle"/>); the year, genres and tags parts are left out when empty; at most
    /// <paramref name="maxTags"/> tags, the most applied first (tags are already deduplicated case-insensitively).
    /// </summary>
    public static string ItemText(Movie movie, int maxTags = DefaultMaxTags)
    {
        ArgumentNullException.ThrowIfNull(movie);
        if (maxTags < 0) throw new ArgumentOutOfRangeException(nameof(maxTags), "the tag cap cannot be negative");
        var sb = new StringBuilder(DisplayTitle(movie.Title));
        if (movie.Year is int year) sb.Append(" (").Append(year.ToString(CultureInfo.InvariantCulture)).Append(')');
        if (movie.Genres.Count > 0) sb.Append(". Genres: ").AppendJoin(", ", movie.Genres);
        int tags = Math.Min(maxTags, movie.Tags.Count);
        if (tags > 0)
        {
            sb.Append(". Tags: ");
            for (int i = 0; i < tags; i++) sb.Append(i == 0 ? "" : ", ").Append(movie.Tags[i]);
        }
        return sb.ToString();
    }

    private static string CollapseSpaces(string text)
    {
        text = text.Trim();
        if (!text.Contains("  ", StringComparison.Ordinal) && !text.Contains('\t') && !text.Contains('\n')) return text;
        var sb = new StringBuilder(text.Length);
        bool space = false;
        foreach (char c in text)
        {
            if (char.IsWhiteSpace(c)) { space = true; continue; }
            if (space && sb.Length > 0) sb.Append(' ');
            space = false;
            sb.Append(c);
        }
        return sb.ToString();
    }
}
