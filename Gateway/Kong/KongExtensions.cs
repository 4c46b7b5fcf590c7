using System.Text.Json;
using Microsoft.AspNetCore.Routing.Matching;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using MlPlatform.Gateway.Grpc;
using MlPlatform.Gateway.Http;
using MlPlatform.Gateway.RateLimiting;

namespace MlPlatform.Gateway.Kong;

public static class KongExtensions
{
    /// <summary>
    /// Kong's declarative configuration as the gateway's traffic configuration, from <c>Gateway:DeclarativeConfig</c>:
    /// read and checked on start, watched for changes, and replaceable through the admin API.
    /// </summary>
    public static IHostApplicationBuilder AddDeclarativeConfig(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<DeclarativeConfigOptions>().BindConfiguration(DeclarativeConfigOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<DeclarativeConfigOptions>, ValidateDeclarativeConfigOptions>();
        services.TryAddSingleton<LocalRateLimitStore>();
        services.AddSingleton<KongRedisConnections>();
        services.AddSingleton<KongPluginServices>();
        services.AddSingleton<KongConfigStore>();
        services.AddHostedService<KongConfigWatcher>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<MatcherPolicy, KongRouteMatcherPolicy>());
        return builder;
    }

    /// <summary>Whether a declarative file configures the gateway's traffic (else its settings do).</summary>
    public static bool UsesDeclarativeConfig(this IApplicationBuilder app) =>
        app.ApplicationServices.GetRequiredService<IOptions<DeclarativeConfigOptions>>().Value.IsEnabled;

    /// <summary>The configuration's plugins on every request it routes.</summary>
    public static IApplicationBuilder UseKongPlugins(this IApplicationBuilder app) => app.UseMiddleware<KongPluginsMiddleware>();

    /// <summary>
    /// The endpoints that answer requests no route matched, on the public and the gRPC port, as Kong answers them; they
    /// lose to every other endpoint a path reaches, and <see cref="KongRouteMatcherPolicy"/> picks them only when no
    /// route matched.
    /// </summary>
    public static IEndpointRouteBuilder MapKongUnmatched(this IEndpointRouteBuilder app)
    {
        if (!app.ServiceProvider.GetRequiredService<IOptions<DeclarativeConfigOptions>>().Value.IsEnabled)
        {
            return app;
        }

        app.Map("/{**kong-unmatched}", UnmatchedAsync).WithOrder(int.MaxValue).WithMetadata(KongUnmatchedMetadata.Instance).ExcludeFromDescription();
        app.Map("/{**kong-unmatched}", UnmatchedAsync).WithOrder(int.MaxValue).WithMetadata(KongUnmatchedMetadata.Instance).OnGrpcPort().ExcludeFromDescription();
        return app;
    }

    private const string NoRouteMessage = "no Route matched with those values";

    private static Task UnmatchedAsync(HttpContext context)
    {
        var feature = context.Features.Get<KongRequestFeature>();
        var (status, message) = feature?.Route is { } route
            ? (StatusCodes.Status503ServiceUnavailable, $"route '{route.Entity.Name ?? route.Entity.Key}' has no service to forward to")
            : (StatusCodes.Status404NotFound, NoRouteMessage);
        if (feature?.Grpc == true || GrpcPortEndpoints.IsGrpcEndpoint(context))
        {
            return GrpcStatus.WriteAsync(context, status == StatusCodes.Status404NotFound ? GrpcStatusCode.Unimplemented : GrpcStatusCode.Unavailable, message);
        }

        return JsonBody.WriteAsync(context, status, JsonSerializer.SerializeToUtf8Bytes(new KongMessage(message, RequestId.Of(context))));
    }
}
