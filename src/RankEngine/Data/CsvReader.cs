using System.Text;

namespace RankEngine.Data;

/// <summary>Bad input in a data file: the message names the file and the line. An <see cref="IOException"/>, as a failed read.</summary>
internal sealed class DataFormatException : IOException
{
    /// <summary>The file (or source name) the problem is in.</summary>
    public string FileName { get; }
    /// <summary>1-based line number where the offending record starts; 0 when the problem is the whole file.</summary>
    public long Line { get; }

    public DataFormatException(string source, long line, string problem, Exception? inner = null)
        : base(line > 0 ? $"{source} line {line}: {problem}" : $"{source}: {problem}", inner)
    {
        FileName = source;
        Line = line;
    }
}

/// <summary>
/// A streaming RFC 4180 CSV reader: comma-separated fields, double-quoted fields may hold commas, doubled quotes
/// (<c>""</c>) and line breaks; LF or CRLF line ends; a UTF-8 BOM is skipped by the <see cref="TextReader"/>.
/// A quote inside an unquoted field is kept as a literal character (common in hand-made files); an unterminated
/// quoted field or text after a closing quote is an error naming the source and line.
/// </summary>
internal sealed class CsvReader : IDisposable
{
    private readonly TextReader _reader;
    private readonly StringBuilder _field = new();
    private readonly char[] _buffer = new char[64 * 1024];
    private int _pos, _len;
    private long _line = 1;
    private bool _eof;

    /// <summary>Name used in error messages (usually the file name).</summary>
    public string SourceName { get; }
    /// <summary>1-based line on which the record last returned by <see cref="ReadRecord"/> starts.</summary>
    public long RecordLine { get; private set; }

    public CsvReader(TextReader reader, string sourceName)
    {
        _reader = reader ?? throw new ArgumentNullException(nameof(reader));
        SourceName = sourceName;
    }

    /// <summary>Opens a file (UTF-8, BOM detected).</summary>
    public static CsvReader OpenFile(string path) =>
        new(new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true), Path.GetFileName(path));

    /// <summary>An error at the current record, naming source and line.</summary>
    public DataFormatException Error(string problem, Exception? inner = null) => new(SourceName, RecordLine, problem, inner);

    /// <summary>
    /// Reads the next record into <paramref name="fields"/> (cleared first). Returns false at the end of input.
    /// Blank lines are skipped.
    /// </summary>
    public bool ReadRecord(List<string> fields)
    {
        fields.Clear();
        while (true)
        {
            int c = Peek();
            if (c < 0) return false;
            if (c == '\r' || c == '\n') { ConsumeLineEnd(); continue; } // blank line
            break;
        }
        RecordLine = _line;
        while (true)
        {
            _field.Clear();
            int c = Peek();
            if (c == '"')
            {
                Next();
                ReadQuoted();
                c = Peek();
                if (c >= 0 && c != ',' && c != '\r' && c != '\n')
                    throw Error($"unexpected character '{(char)c}' after a closing quote (a quote inside a quoted field must be doubled)");
            }
            else
            {
                while ((c = Peek()) >= 0 && c != ',' && c != '\r' && c != '\n')
                {
                    _field.Append((char)c);
                    Next();
                }
            }
            fields.Add(_field.ToString());
            c = Peek();
            if (c == ',') { Next(); continue; }
            if (c >= 0) ConsumeLineEnd();
            return true;
        }
    }

    private void ReadQuoted()
    {
        while (true)
        {
            int c = Peek();
            if (c < 0) throw Error("unterminated quoted field (a quote opened here is never closed)");
            Next();
            if (c == '"')
            {
                if (Peek() == '"') { _field.Append('"'); Next(); continue; }
                return;
            }
            if (c == '\n') _line++;
            else if (c == '\r')
            {
                if (Peek() == '\n') { _field.Append('\r'); c = '\n'; Next(); }
                _line++;
            }
            _field.Append((char)c);
        }
    }

    private void ConsumeLineEnd()
    {
        if (Peek() == '\r') Next();
        if (Peek() == '\n') Next();
        _line++;
    }

    private int Peek()
    {
        if (_pos < _len) return _buffer[_pos];
        if (_eof) return -1;
        _len = _reader.Read(_buffer, 0, _buffer.Length);
        _pos = 0;
        if (_len <= 0) { _eof = true; _len = 0; return -1; }
        return _buffer[0];
    }

    private void Next() => _pos++;

    public void Dispose() => _reader.Dispose();
}

/// <summary>Maps header names to column indexes (case-insensitive), with clear errors for missing columns.</summary>
internal sealed class CsvHeader
{
    private readonly Dictionary<string, int> _index = new(StringComparer.OrdinalIgnoreCase);

    public IReadOnlyList<string> Names { get; }

    public CsvHeader(IReadOnlyList<string> names, CsvReader reader)
    {
        Names = names.Select(n => n.Trim()).ToArray();
        for (int i = 0; i < Names.Count; i++)
        {
            if (Names[i].Length == 0) throw reader.Error($"header column {i + 1} has no name");
            if (!_index.TryAdd(Names[i], i)) throw reader.Error($"header names column '{Names[i]}' twice");
        }
    }

    /// <summary>Reads the header record; an empty file is an error.</summary>
    public static CsvHeader Read(CsvReader reader)
    {
        var fields = new List<string>();
        if (!reader.ReadRecord(fields)) throw new DataFormatException(reader.SourceName, 0, "the file is empty (expected a header line)");
        return new CsvHeader(fields, reader);
    }

    /// <summary>Index of the first of <paramref name="names"/> present, or -1.</summary>
    public int Find(params string[] names)
    {
        foreach (var n in names)
            if (_index.TryGetValue(n, out int i)) return i;
        return -1;
    }

    /// <summary>Index of the first of <paramref name="names"/> present; an error naming them when none is.</summary>
    public int Require(CsvReader reader, params string[] names)
    {
        int i = Find(names);
        if (i < 0)
            throw new DataFormatException(reader.SourceName, 1,
                $"missing column '{names[0]}'" + (names.Length > 1 ? $" (or {string.Join(", ", names.Skip(1).Select(n => $"'{n}'"))})" : "") +
                $"; the header has: {string.Join(", ", Names)}");
        return i;
    }
}
