using Microsoft.AspNetCore.Routing.Matching;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace MlPlatform.Gateway.Management;

public static class ManagementExtensions
{
    /// <summary>
    /// The management port, from <c>Gateway:ManagementPort</c>: validated on start and routed apart from the public
    /// addresses. Kestrel listens on it with the other ports (the Server folder's <c>GatewayListeners</c>).
    /// </summary>
    public static IHostApplicationBuilder AddManagementPort(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<ManagementOptions>()
            .BindConfiguration(ManagementOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<ManagementOptions>, ValidateManagementOptions>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<MatcherPolicy, ManagementPortMatcherPolicy>());
        return builder;
    }

    /// <summary>
    /// Maps the gateway's own endpoints on the management port: ServiceDefaults' <c>/health</c>, <c>/alive</c> and
    /// <c>/metrics</c>. Returns the group, so an admin API (Kong's <c>POST /config</c>) can later be mapped into it and
    /// be served there alone. Without a management port they match on no port (<see cref="ManagementPortMatcherPolicy"/>).
    /// </summary>
    public static RouteGroupBuilder MapManagementEndpoints(this IEndpointRouteBuilder app) =>
        // Outside the route groups: no key, no rate limit, no transformation, as probes and scrapers need.
        app.MapGroup(string.Empty).OnManagementPort().MapDefaultEndpoints();
}
