using Microsoft.Extensions.Options;
using MlPlatform.Gateway.Routes;

namespace MlPlatform.Gateway.Timeouts;

/// <summary>Each timeout is set on a route group and lies within what a request may sensibly wait; each problem names its key.</summary>
internal sealed class ValidateRouteGroupTimeoutOptions : IValidateOptions<RouteGroupTimeoutOptions>
{
    private static readonly TimeSpan Longest = TimeSpan.FromHours(1);

    public ValidateOptionsResult Validate(string? name, RouteGroupTimeoutOptions options)
    {
        var problems = new List<string>();
        foreach (var (group, settings) in options.Groups)
        {
            if (settings.Timeout is not { } timeout)
            {
                continue;
            }

            var key = $"{RouteGroupTimeoutOptions.SectionName}:{group}:{nameof(RouteGroupTimeout.Timeout)}";
            RouteGroup.CheckName(problems, key, group);
            if (timeout <= TimeSpan.Zero || timeout > Longest)
            {
                problems.Add($"{key} is {timeout}; it must be above 0 and at most 01:00:00.");
            }
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
