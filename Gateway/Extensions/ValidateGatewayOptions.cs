using Microsoft.Extensions.Options;
using MlPlatform.Gateway.Proxy;

namespace MlPlatform.Gateway.Extensions;

/// <summary>The rules data annotations cannot say, each problem naming its configuration key.</summary>
internal sealed class ValidateGatewayOptions : IValidateOptions<GatewayOptions>
{
    public ValidateOptionsResult Validate(string? name, GatewayOptions options)
    {
        var problems = new List<string>();
        foreach (var (group, limit) in options.RouteMaxRequestBodyBytes)
        {
            var key = $"{GatewayOptions.SectionName}:{nameof(GatewayOptions.RouteMaxRequestBodyBytes)}:{group}";
            if (!GatewayRoutes.RouteGroups.Contains(group, StringComparer.OrdinalIgnoreCase))
            {
                problems.Add($"{key}: '{group}' is not a route group; use one of {string.Join(", ", GatewayRoutes.RouteGroups)}.");
            }

            if (limit is < 1 or > GatewayOptions.MaxBodyLimit)
            {
                problems.Add($"{key} is {limit}; it must be between 1 and {GatewayOptions.MaxBodyLimit} bytes.");
            }
        }

        if (options.HealthCheckTimeout >= options.HealthCheckInterval)
        {
            problems.Add(
                $"{GatewayOptions.SectionName}:{nameof(GatewayOptions.HealthCheckTimeout)} ({options.HealthCheckTimeout}) must be shorter than " +
                $"{GatewayOptions.SectionName}:{nameof(GatewayOptions.HealthCheckInterval)} ({options.HealthCheckInterval}), or probes overlap.");
        }

        if (options.RetryDelay >= options.HopTimeout)
        {
            problems.Add(
                $"{GatewayOptions.SectionName}:{nameof(GatewayOptions.RetryDelay)} ({options.RetryDelay}) must be shorter than " +
                $"{GatewayOptions.SectionName}:{nameof(GatewayOptions.HopTimeout)} ({options.HopTimeout}), or a hop times out before it tries an address again.");
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
