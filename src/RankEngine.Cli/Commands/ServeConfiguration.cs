using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Console;
using RankEngine.Compute;
using RankEngine.Server.Hosting;

namespace RankEngine.Cli.Commands;

/// <summary>The engine part of <c>serve</c>'s configuration (section <c>RankEngine</c>; the server's is <c>RankEngine:Server</c>).</summary>
internal sealed class ServeEngineSettings
{
    public const string SectionName = "RankEngine";

    public string DataDirectory { get; set; } = EngineOptions.DefaultDataDirectory;

    /// <summary>Weight file; null: $RANKENGINE_MODEL, else models/default.rem.</summary>
    public string? Model { get; set; }

    public string Backend { get; set; } = "auto";

    /// <summary>Serve without a model: items bring vectors of this width.</summary>
    public int? ContentDimension { get; set; }

    /// <summary>Catalog shards items are spread over (each searched on its own, results merged; the same rankings for any count).</summary>
    public int CatalogShards { get; set; } = 1;

    /// <summary>Whole-catalog scans over fp32 (None), or an int8 (Int8) or fp16 (Fp16) first pass re-scored exactly.</summary>
    public CatalogQuantization Quantization { get; set; } = CatalogQuantization.None;

    /// <summary>The values <see cref="Quantization"/> accepts (case-insensitive), for error messages.</summary>
    public static string QuantizationNames => string.Join(", ", Enum.GetNames<CatalogQuantization>());

    public void Validate()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(DataDirectory)) problems.Add($"{SectionName}:DataDirectory is empty");
        if (!BackendFactory.Names.Contains(Backend, StringComparer.OrdinalIgnoreCase))
            problems.Add($"{SectionName}:Backend '{Backend}' is not one of {string.Join(", ", BackendFactory.Names)}");
        if (ContentDimension is <= 0) problems.Add($"{SectionName}:ContentDimension is {ContentDimension}: must be positive");
        if (!Enum.IsDefined(Quantization)) problems.Add($"{SectionName}:Quantization is {Quantization}: must be one of {QuantizationNames}");
        if (CatalogShards is < 1 or > 256) problems.Add($"{SectionName}:CatalogShards is {CatalogShards}: must be 1..256");
        if (problems.Count > 0) throw new ArgumentException("invalid configuration: " + string.Join("; ", problems));
    }
}

/// <summary>
/// Builds <c>serve</c>'s configuration the .NET way, lowest precedence first: appsettings.json and appsettings.{Environment}.json in the working directory, an optional
/// <c>--config</c> file, environment variables (<c>RANKENGINE__Server__Port</c> is <c>RankEngine:Server:Port</c>;
/// <c>DOTNET_ENVIRONMENT</c> picks the environment), then the options given on the command line.
/// </summary>
internal static class ServeConfiguration
{
    /// <summary>
    /// The configuration manager for the host builder, holding only the lowest-precedence default: the console's
    /// formatter is named (without a name the console logger ignores the formatter's options). The host adds the
    /// files and environment variables after it.
    /// </summary>
    public static ConfigurationManager Initial()
    {
        var configuration = new ConfigurationManager();
        configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Logging:Console:FormatterName"] = "simple" });
        return configuration;
    }

    /// <summary>
    /// The console log looks as it always did (one line per entry, a time of day) unless the Logging section says
    /// otherwise: applied to the simple formatter only, and only for the settings configuration leaves unset.
    /// </summary>
    public static void DefaultConsoleFormat(IServiceCollection services, IConfiguration configuration)
    {
        const string options = "Logging:Console:FormatterOptions";
        services.PostConfigure<SimpleConsoleFormatterOptions>(o =>
        {
            if (configuration[$"{options}:SingleLine"] is null) o.SingleLine = true;
            if (configuration[$"{options}:TimestampFormat"] is null) o.TimestampFormat = "HH:mm:ss ";
        });
    }

    /// <summary>Adds the optional <c>--config</c> file and the command-line values (highest precedence).</summary>
    public static void AddOverrides(IConfigurationBuilder configuration, string? configFile, IReadOnlyDictionary<string, string?> commandLine)
    {
        if (configFile is not null)
        {
            string path = Path.GetFullPath(configFile);
            if (!File.Exists(path)) throw new FileNotFoundException($"configuration file '{configFile}' does not exist");
            var json = new JsonConfigurationSource { Path = path, Optional = false, ReloadOnChange = false };
            json.ResolveFileProvider();
            // Below the environment variables (the host's last source), above appsettings*.json.
            int at = configuration.Sources.Count;
            for (int i = configuration.Sources.Count - 1; i >= 0; i--)
                if (configuration.Sources[i] is Microsoft.Extensions.Configuration.EnvironmentVariables.EnvironmentVariablesConfigurationSource) { at = i; break; }
            configuration.Sources.Insert(at, json);
        }
        configuration.AddInMemoryCollection(commandLine);
    }

    /// <summary>Binds the cluster section (<see cref="ClusterServeSettings"/>); its values are checked when a cluster starts.</summary>
    public static ClusterServeSettings BindCluster(IConfiguration configuration)
    {
        var cluster = new ClusterServeSettings();
        try
        {
            configuration.GetSection(ClusterServeSettings.SectionName).Bind(cluster);
        }
        catch (InvalidOperationException e)
        {
            throw new ArgumentException("invalid configuration: " + e.Message.TrimEnd('.'));
        }
        return cluster;
    }

    /// <summary>Binds and validates both sections; configuration values that do not convert are reported by key.</summary>
    public static (ServeEngineSettings Engine, RankServerSettings Server) Bind(IConfiguration configuration)
    {
        var engine = new ServeEngineSettings();
        var server = new RankServerSettings();
        // The binder's own message for a bad enum names the type, not the values: say which ones are valid.
        string quantizationKey = ServeEngineSettings.SectionName + ":" + nameof(ServeEngineSettings.Quantization);
        if (configuration[quantizationKey] is { Length: > 0 } q && !Enum.TryParse<CatalogQuantization>(q, ignoreCase: true, out _))
            throw new ArgumentException($"invalid configuration: {quantizationKey} '{q}' is not one of {ServeEngineSettings.QuantizationNames}");
        try
        {
            configuration.GetSection(ServeEngineSettings.SectionName).Bind(engine);
            configuration.GetSection(RankServerSettings.SectionName).Bind(server);
        }
        catch (InvalidOperationException e)
        {
            // "Failed to convert configuration value at 'RankEngine:Server:Port' to type 'System.Int32'." is already one clear line.
            throw new ArgumentException("invalid configuration: " + e.Message.TrimEnd('.'));
        }
        engine.Validate();
        return (engine, server);
    }
}
