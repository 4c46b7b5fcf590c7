using Microsoft.Extensions.Options;

namespace MlPlatform.Gateway.TryIt;

/// <summary>Checks the Try it page's settings on start, each problem naming its configuration key.</summary>
internal sealed class ValidateTryItOptions : IValidateOptions<TryItOptions>
{
    public ValidateOptionsResult Validate(string? name, TryItOptions options)
    {
        var problems = new List<string>();
        var section = TryItOptions.SectionName;

        // The page sends the key as a header value: anything else would fail in the browser, not here.
        if (string.IsNullOrEmpty(options.ApiKey) || !options.ApiKey.All(c => c is > ' ' and <= '~'))
        {
            problems.Add($"{section}:ApiKey must be a development consumer's key of visible ASCII characters (default '{TryItOptions.DevelopmentApiKey}').");
        }

        if (options.DashboardBase is { } dashboard
            && !(Uri.TryCreate(dashboard, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps) && uri.Query.Length == 0 && uri.Fragment.Length == 0))
        {
            problems.Add($"{section}:DashboardUrl is '{options.DashboardUrl}'; it must be the dashboard's http or https base address, such as http://localhost:18888, or be left out.");
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
