using Microsoft.Extensions.Options;

namespace MlPlatform.Gateway.Routes;

/// <summary>Each route group's own limit names a route group and is a limit the gateway can hold; each problem names its key.</summary>
internal sealed class ValidateBodyLimitOptions : IValidateOptions<BodyLimitOptions>
{
    public ValidateOptionsResult Validate(string? name, BodyLimitOptions options)
    {
        var problems = new List<string>();
        foreach (var (group, limit) in options.RouteMaxRequestBodyBytes)
        {
            var key = $"{BodyLimitOptions.SectionName}:{nameof(BodyLimitOptions.RouteMaxRequestBodyBytes)}:{group}";
            RouteGroup.CheckName(problems, key, group);
            if (limit is < 1 or > BodyLimitOptions.MaxBodyLimit)
            {
                problems.Add($"{key} is {limit}; it must be between 1 and {BodyLimitOptions.MaxBodyLimit} bytes.");
            }
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
