using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using MlPlatform.Gateway.Cors;
using MlPlatform.Gateway.Diagnostics;
using MlPlatform.Gateway.Grpc;
using MlPlatform.Gateway.Http;
using MlPlatform.Gateway.KeyAuth;
using MlPlatform.Gateway.Kong;
using MlPlatform.Gateway.Management;
using MlPlatform.Gateway.Predict;
using MlPlatform.Gateway.Proxy;
using MlPlatform.Gateway.RateLimiting;
using MlPlatform.Gateway.Routes;
using MlPlatform.Gateway.Server;
using MlPlatform.Gateway.Timeouts;
using MlPlatform.Gateway.Transforms;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.LoadBalancing;

namespace MlPlatform.Gateway.Extensions;

public static class Extensions
{
    public static IHostApplicationBuilder AddGatewayServices(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;

        services.AddOptions<BodyLimitOptions>()
            .BindConfiguration(BodyLimitOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<BodyLimitOptions>, ValidateBodyLimitOptions>();

        services.AddOptions<ProxyOptions>()
            .BindConfiguration(ProxyOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<ProxyOptions>, ValidateProxyOptions>();

        services.AddOptions<BackendServicesOptions>()
            .Configure<IConfiguration>((backends, configuration) => backends.ReadFrom(configuration))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<BackendServicesOptions>, ValidateBackendServicesOptions>();

        services.AddOptions<HeaderLimitOptions>()
            .BindConfiguration(HeaderLimitOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddOptions<KestrelServerOptions>()
            .Configure<IOptions<HeaderLimitOptions>>((kestrel, headers) =>
            {
                if (headers.Value.MaxRequestHeadersTotalSize is { } total)
                {
                    kestrel.Limits.MaxRequestHeadersTotalSize = total;
                }

                if (headers.Value.MaxRequestHeaderCount is { } count)
                {
                    kestrel.Limits.MaxRequestHeaderCount = count;
                }
            });

        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<GatewayMetrics>();
        services.AddTransient<IStartupFilter, RequestIdStartupFilter>();

        // Kestrel's half of running socket work on the event threads (GatewayIo says why).
        services.Configure<SocketTransportOptions>(socket => socket.UnsafePreferInlineScheduling = GatewayIo.InlineSocketCompletions);
        // The gRPC cluster's destination is a service discovery name (http://_grpc.inference); the REST clusters'
        // addresses are already resolved and pass through unchanged.
        services.AddReverseProxy().AddServiceDiscoveryDestinationResolver().AddTransforms(KongUpstreamPath.Add);
        builder.AddDeclarativeConfig();
        services.AddSingleton<IProxyConfigProvider, GatewayProxyConfigProvider>();
        builder.AddGrpcPort();
        builder.AddManagementPort();
        builder.AddGatewayListeners();
        services.AddSingleton<IForwarderHttpClientFactory, GatewayForwarderHttpClientFactory>();

        services.AddHttpClient(HopInvoker.HttpClientName)
            // The hop invoker owns retries, replica choice and the timeout, and sends to an address it picked
            // itself. The defaults' handlers would only add work to every hop: resilience would retry the same
            // replica behind its back, service discovery would resolve that address to itself, and the factory's
            // loggers would open a scope and check levels twice per call for lines the gateway logs itself.
            .ConfigureAdditionalHttpMessageHandlers((handlers, _) => handlers.Clear())
            .RemoveAllLoggers()
            .ConfigureHttpClient(client => client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(provider => new SocketsHttpHandler
            {
                ConnectTimeout = provider.GetRequiredService<IOptions<ProxyOptions>>().Value.ConnectTimeout,
                // Replicas come and go behind one address; fresh connections find the new ones.
                PooledConnectionLifetime = provider.GetRequiredService<IOptions<ProxyOptions>>().Value.ConnectionLifetime,
                AllowAutoRedirect = false,
                UseProxy = false,
                UseCookies = false,
            });
        // One policy for proxied routes and hops, and the hops' in-flight count it weighs (it says why).
        services.AddSingleton<HopAwareLoadBalancingPolicy>();
        services.AddSingleton<ILoadBalancingPolicy>(provider => provider.GetRequiredService<HopAwareLoadBalancingPolicy>());
        services.AddSingleton<HopInvoker>();
        services.AddSingleton<PredictPipeline>();

        // The web defaults read numbers from strings too, and the OpenAPI document would say a score may be a string.
        services.ConfigureHttpJsonOptions(json => json.SerializerOptions.NumberHandling = JsonNumberHandling.Strict);
        services.AddOpenApi(options => options.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "MlPlatform API";
            document.Info.Description = "Predictions from the models MlPlatform serves. The Open Inference Protocol itself is under /v2.";
            return Task.CompletedTask;
        }));

        return builder;
    }

    /// <summary>API keys, rate limits, request transformation, CORS and route group timeouts, all from configuration.</summary>
    public static IHostApplicationBuilder AddGatewayPolicies(this IHostApplicationBuilder builder) =>
        builder.AddGatewayCors().AddKeyAuth().AddRateLimiting().AddRequestTransforms().AddRouteGroupTimeouts();

    /// <summary>
    /// The traffic policy of every routed request, in the order Kong's plugins run: CORS first, so a preflight is
    /// answered without a key, then key-auth, rate-limiting and request-transformer; the route group's request
    /// timeout last, so it covers forwarding and not the policy's own work.
    /// </summary>
    /// <remarks>With a declarative configuration, its plugins in place of the settings' policies (route group timeouts stay, for predict).</remarks>
    public static IApplicationBuilder UseGatewayPolicies(this IApplicationBuilder app) => app.UsesDeclarativeConfig()
        ? app.UseKongPlugins().UseRequestTimeouts()
        : app.UseGatewayCors().UseKeyAuth().UseRateLimiting().UseRequestTransforms().UseRequestTimeouts();
}
