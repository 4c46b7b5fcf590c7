using System.Globalization;
using Microsoft.AspNetCore.Http.Timeouts;
using Microsoft.Extensions.Options;
using MlPlatform.Gateway.Diagnostics;
using MlPlatform.Gateway.Http;
using MlPlatform.Gateway.Routes;

namespace MlPlatform.Gateway.Timeouts;

/// <summary>
/// Route group timeouts as ASP.NET Core request timeouts: one named policy per group that has a timeout, which the
/// predict endpoint and YARP's routes name. The timeout cancels <c>RequestAborted</c>; the middleware answers 504.
/// </summary>
public static class RouteGroupTimeouts
{
    public static IHostApplicationBuilder AddRouteGroupTimeouts(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<RouteGroupTimeoutOptions>()
            .Configure<IConfiguration>((options, configuration) => configuration.GetSection(RouteGroupTimeoutOptions.SectionName).Bind(options.Groups))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<RouteGroupTimeoutOptions>, ValidateRouteGroupTimeoutOptions>();

        services.AddRequestTimeouts();
        services.AddOptions<RequestTimeoutOptions>()
            .Configure<IOptions<RouteGroupTimeoutOptions>, GatewayMetrics>((timeouts, groups, metrics) =>
            {
                foreach (var group in GatewayRoutes.RouteGroups)
                {
                    if (groups.Value.TimeoutOf(group) is { } timeout)
                    {
                        timeouts.AddPolicy(group, Policy(group, timeout, metrics));
                    }
                }
            });

        return builder;
    }

    /// <summary>Gives the endpoints of <paramref name="builder"/> the request timeout of <paramref name="group"/>, when it has one.</summary>
    public static TBuilder WithRouteGroupTimeout<TBuilder>(this TBuilder builder, IServiceProvider services, string group)
        where TBuilder : IEndpointConventionBuilder
    {
        RouteGroupTimeoutOptions timeouts;
        try
        {
            timeouts = services.GetRequiredService<IOptions<RouteGroupTimeoutOptions>>().Value;
        }
        catch (OptionsValidationException)
        {
            // Endpoints are mapped before start-up validation, which reports this with every other problem and
            // keeps the gateway from starting.
            return builder;
        }

        if (timeouts.PolicyFor(group) is { } policy)
        {
            builder.WithRequestTimeout(policy);
        }

        return builder;
    }

    private static RequestTimeoutPolicy Policy(string group, TimeSpan timeout, GatewayMetrics metrics)
    {
        var detail = $"{group} did not answer within {timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s " +
            $"({RouteGroupTimeoutOptions.SectionName}:{group}:{nameof(RouteGroupTimeout.Timeout)}).";
        return new RequestTimeoutPolicy
        {
            Timeout = timeout,
            TimeoutStatusCode = StatusCodes.Status504GatewayTimeout,
            WriteTimeoutResponse = context =>
            {
                metrics.Refused(group, "timeout");
                return GatewayProblems.WriteAsync(context, StatusCodes.Status504GatewayTimeout, "The request timed out", detail);
            },
        };
    }
}
