using Microsoft.Extensions.Options;

namespace MlPlatform.Gateway.Proxy;

/// <summary>The rules data annotations cannot say, each problem naming its configuration key.</summary>
internal sealed class ValidateProxyOptions : IValidateOptions<ProxyOptions>
{
    public ValidateOptionsResult Validate(string? name, ProxyOptions options)
    {
        var problems = new List<string>();
        if (options.HealthCheckTimeout >= options.HealthCheckInterval)
        {
            problems.Add(
                $"{ProxyOptions.SectionName}:{nameof(ProxyOptions.HealthCheckTimeout)} ({options.HealthCheckTimeout}) must be shorter than " +
                $"{ProxyOptions.SectionName}:{nameof(ProxyOptions.HealthCheckInterval)} ({options.HealthCheckInterval}), or probes overlap.");
        }

        if (options.RetryDelay >= options.HopTimeout)
        {
            problems.Add(
                $"{ProxyOptions.SectionName}:{nameof(ProxyOptions.RetryDelay)} ({options.RetryDelay}) must be shorter than " +
                $"{ProxyOptions.SectionName}:{nameof(ProxyOptions.HopTimeout)} ({options.HopTimeout}), or a hop times out before it tries an address again.");
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
