using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RankEngine.Server.Http;

namespace RankEngine.Server.Hosting;

/// <summary>Registers and builds the RankEngine server on a Microsoft.Extensions.Hosting generic host.</summary>
public static class RankServerHost
{
    /// <summary>
    /// Adds the protocol listener and (unless <see cref="RankServerOptions.HttpPort"/> is null) the HTTP health and
    /// metrics endpoint as hosted services, and <see cref="RankServerState"/> as a singleton. The engine is not
    /// owned: dispose it after the host has stopped.
    /// </summary>
    public static IServiceCollection AddRankEngineServer(this IServiceCollection services, RankingEngine engine, RankServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(options);
        options.Limits.Validate();
        services.AddSingleton(_ => new RankServerState(engine, options));
        services.AddHostedService<RespListenerService>();
        services.AddHostedService<ModelRefitService>();
        if (options.HttpPort is not null) services.AddHostedService<HttpEndpointService>();
        return services;
    }

    /// <summary>
    /// The same server in front of any deployment (a cluster front end); <paramref name="service"/> is made once
    /// from the host's services (where a co-hosted silo's grain factory is) and is not owned.
    /// </summary>
    internal static IServiceCollection AddRankEngineServer(this IServiceCollection services, Func<IServiceProvider, IRankingService> service, RankServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(options);
        options.Limits.Validate();
        services.AddSingleton(sp => new RankServerState(service(sp), options));
        services.AddHostedService<RespListenerService>();
        services.AddHostedService<ModelRefitService>();
        if (options.HttpPort is not null) services.AddHostedService<HttpEndpointService>();
        return services;
    }

    /// <summary>
    /// A host with nothing but the server (no configuration files, no environment, logging only as configured by
    /// <paramref name="logging"/>): what tests, benchmarks and embedding applications start.
    /// </summary>
    public static IHost Build(RankingEngine engine, RankServerOptions options, Action<ILoggingBuilder>? logging = null)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        logging?.Invoke(builder.Logging);
        builder.Services.AddRankEngineServer(engine, options);
        return builder.Build();
    }

    /// <summary>The server's shared state (bound endpoints, metrics) of a host built with <see cref="AddRankEngineServer(IServiceCollection, RankingEngine, RankServerOptions)"/>.</summary>
    public static RankServerState ServerState(this IHost host) => host.Services.GetRequiredService<RankServerState>();
}
