using Microsoft.Extensions.Options;
using MlPlatform.Gateway.Http;
using MlPlatform.Gateway.KeyAuth;
using MlPlatform.Gateway.Routes;

namespace MlPlatform.Gateway.Transforms;

/// <summary>Header names of each route group's transformation.</summary>
internal sealed class ValidateRouteGroupTransformOptions : IValidateOptions<RouteGroupTransformOptions>
{
    public ValidateOptionsResult Validate(string? name, RouteGroupTransformOptions options)
    {
        var problems = new List<string>();
        foreach (var (group, settings) in options.Groups)
        {
            // Every key under the group makes an entry here: only one with a transformation is this validator's to name.
            if (settings.Request is { Remove.Count: 0, Rename.Count: 0, Add.Count: 0 })
            {
                continue;
            }

            var key = $"{RouteGroupTransformOptions.SectionName}:{group}:{nameof(RouteGroupTransform.Request)}";
            RouteGroup.CheckName(problems, key, group);

            for (var i = 0; i < settings.Request.Remove.Count; i++)
            {
                CheckName(problems, $"{key}:Remove:{i}", settings.Request.Remove[i]);
            }

            foreach (var (from, to) in settings.Request.Rename)
            {
                CheckName(problems, $"{key}:Rename:{from}", to);
                CheckName(problems, $"{key}:Rename:{from} (the name)", from);
            }

            foreach (var (header, _) in settings.Request.Add)
            {
                CheckName(problems, $"{key}:Add:{header} (the name)", header);
            }
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    private static void CheckName(List<string> problems, string key, string? header)
    {
        if (!HeaderName.IsValid(header))
        {
            problems.Add($"{key} is '{header}'; it must be a header name (letters, digits, '-', '_').");
        }
        else if (UpstreamHeaders.IsProtected(header!))
        {
            problems.Add($"{key} is '{header}'; the gateway sets that header itself and a transformation may not touch it.");
        }
    }
}
