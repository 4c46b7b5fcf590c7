using Microsoft.Extensions.Options;

namespace MlPlatform.Gateway.Kong;

/// <summary>
/// The declarative file is read and checked on start, as <c>kong config parse</c> checks it: start-up ends with one
/// line for each problem, the file and the problem's path first. The admin token must be long enough to be one.
/// </summary>
internal sealed class ValidateDeclarativeConfigOptions(KongConfigStore store) : IValidateOptions<DeclarativeConfigOptions>
{
    public ValidateOptionsResult Validate(string? name, DeclarativeConfigOptions options)
    {
        var problems = new List<string>();
        foreach (var problem in store.StartupProblems)
        {
            problems.Add($"{options.DeclarativeConfig}: {problem}");
        }

        if (options.AdminToken is { } token)
        {
            if (!options.IsEnabled)
            {
                problems.Add($"{DeclarativeConfigOptions.SectionName}:{nameof(DeclarativeConfigOptions.AdminToken)} is set, but there is no configuration to post: set {DeclarativeConfigOptions.SectionName}:{nameof(DeclarativeConfigOptions.DeclarativeConfig)} too, or remove the token.");
            }

            if (token.Length < DeclarativeConfigOptions.MinAdminTokenLength)
            {
                problems.Add($"{DeclarativeConfigOptions.SectionName}:{nameof(DeclarativeConfigOptions.AdminToken)} has {token.Length} characters; it needs at least {DeclarativeConfigOptions.MinAdminTokenLength}.");
            }
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
