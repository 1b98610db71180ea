using System.Net;

namespace RankEngine.Server.Hosting;

/// <summary>
/// The server's settings as they appear in configuration (section <c>RankEngine:Server</c> of appsettings.json,
/// <c>RANKENGINE__Server__…</c> environment variables, the command line), bound by
/// Microsoft.Extensions.Configuration and checked by <see cref="ToOptions"/> before anything starts.
/// </summary>
public sealed class RankServerSettings
{
    /// <summary>Configuration section of these settings.</summary>
    public const string SectionName = "RankEngine:Server";

    /// <summary>Address to listen on.</summary>
    public string Bind { get; set; } = "127.0.0.1";

    /// <summary>Protocol port (0: a free port).</summary>
    public int Port { get; set; } = RankServerOptions.DefaultPort;

    /// <summary>HTTP port for /healthz, /readyz, /metrics; 0 turns HTTP off.</summary>
    public int HttpPort { get; set; } = RankServerOptions.DefaultHttpPort;

    /// <summary>Token clients must send with AUTH; null or absent: no authentication.</summary>
    public string? AuthToken { get; set; }

    /// <summary>
    /// A file whose first line is the token (not visible in ps, unlike a token on the command line); null or empty:
    /// none. Give this or <see cref="AuthToken"/>, not both.
    /// </summary>
    public string? AuthTokenFile { get; set; }

    /// <summary>With a token: /metrics answers 401 unless the request carries <c>Authorization: Bearer &lt;token&gt;</c>.</summary>
    public bool MetricsRequireAuth { get; set; }

    /// <summary>Request, connection and concurrency limits.</summary>
    public ServerLimits Limits { get; set; } = new();

    /// <summary>Background refits of the ranking model.</summary>
    public RefitSettings Refit { get; set; } = new();

    /// <summary>
    /// The options these settings describe. Every problem is reported at once, as one line naming the
    /// configuration keys (<c>RankEngine:Server:Port is 70000: must be 0…65535</c>).
    /// </summary>
    /// <exception cref="ArgumentException">A setting is out of range or malformed.</exception>
    public RankServerOptions ToOptions(string? modelName = null)
    {
        var problems = new List<string>();
        if (!IPAddress.TryParse(Bind, out var address)) problems.Add($"{SectionName}:Bind '{Bind}' is not an IP address");
        if (Port is < 0 or > 65535) problems.Add($"{SectionName}:Port is {Port}: must be 0…65535");
        if (HttpPort is < 0 or > 65535) problems.Add($"{SectionName}:HttpPort is {HttpPort}: must be 0…65535 (0: off)");
        if (AuthToken is { Length: 0 }) problems.Add($"{SectionName}:AuthToken is empty");
        string? token = AuthToken;
        if (!string.IsNullOrEmpty(AuthTokenFile))
        {
            if (!string.IsNullOrEmpty(AuthToken))
                problems.Add($"{SectionName}:AuthToken and {SectionName}:AuthTokenFile are both set: give one");
            else if (!File.Exists(AuthTokenFile))
                problems.Add($"{SectionName}:AuthTokenFile '{AuthTokenFile}' does not exist");
            else
            {
                token = File.ReadLines(AuthTokenFile).FirstOrDefault()?.Trim() ?? "";
                if (token.Length == 0) problems.Add($"{SectionName}:AuthTokenFile '{AuthTokenFile}' is empty");
            }
        }
        try
        {
            Limits.Validate();
        }
        catch (ArgumentOutOfRangeException e)
        {
            string message = e.Message;
            int tail = message.IndexOf(" (Parameter '", StringComparison.Ordinal);
            problems.Add($"{SectionName}:Limits: {(tail > 0 ? message[..tail] : message)}");
        }
        if (!(Refit.CheckIntervalSeconds >= 0) || !double.IsFinite(Refit.CheckIntervalSeconds))
            problems.Add($"{SectionName}:Refit:CheckIntervalSeconds is {Refit.CheckIntervalSeconds}: must be ≥ 0 (0: no background refits)");
        if (Refit.MinNewEvents < 1) problems.Add($"{SectionName}:Refit:MinNewEvents is {Refit.MinNewEvents}: must be ≥ 1");
        if (!(Refit.MinNewFraction >= 0) || !double.IsFinite(Refit.MinNewFraction))
            problems.Add($"{SectionName}:Refit:MinNewFraction is {Refit.MinNewFraction}: must be ≥ 0");
        if (problems.Count > 0) throw new ArgumentException("invalid configuration: " + string.Join("; ", problems));
        return new RankServerOptions
        {
            BindAddress = address!,
            Port = Port,
            HttpPort = HttpPort == 0 ? null : HttpPort,
            AuthToken = token,
            MetricsRequireAuth = MetricsRequireAuth,
            ModelName = modelName,
            Limits = Limits,
            Refit = new RefitOptions
            {
                CheckInterval = Refit.CheckIntervalSeconds > 0 ? TimeSpan.FromSeconds(Refit.CheckIntervalSeconds) : null,
                MinNewEvents = Refit.MinNewEvents,
                MinNewFraction = Refit.MinNewFraction,
            },
        };
    }
}

/// <summary>The <c>Refit</c> section: when <c>serve</c> retrains the ranking model in the background.</summary>
public sealed class RefitSettings
{
    /// <summary>Seconds between checks for enough new events; 0 turns background refits off.</summary>
    public double CheckIntervalSeconds { get; set; } = 60;
    /// <summary>New events needed before a refit.</summary>
    public long MinNewEvents { get; set; } = 1000;
    /// <summary>New events needed as a share of the events the served model was trained on.</summary>
    public double MinNewFraction { get; set; } = 0.1;
}
