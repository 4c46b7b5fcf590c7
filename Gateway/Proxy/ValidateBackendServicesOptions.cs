using Microsoft.Extensions.Options;
using MlPlatform.Gateway.Routes;

namespace MlPlatform.Gateway.Proxy;

/// <summary>Every backend service needs at least one replica with an http(s) address; all problems are reported at once.</summary>
internal sealed class ValidateBackendServicesOptions : IValidateOptions<BackendServicesOptions>
{
    public ValidateOptionsResult Validate(string? name, BackendServicesOptions options)
    {
        var problems = new List<string>();
        foreach (var service in BackendServices.All)
        {
            if (!options.Replicas.TryGetValue(service, out var replicas) || replicas.Count == 0)
            {
                var key = BackendServicesOptions.KeyOf(service, 0);
                problems.Add(
                    $"{key} is missing: the gateway needs at least one {service} replica. " +
                    $"Set it, one entry per replica, e.g. {key.Replace(":", "__", StringComparison.Ordinal)}=http://localhost:{ExamplePort(service)}.");
                continue;
            }

            foreach (var replica in replicas)
            {
                if (replica.Uri is null)
                {
                    problems.Add($"{replica.Key} is '{replica.Value}'; it must be an absolute http:// or https:// address such as http://localhost:8001.");
                }
            }
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    /// <summary>The port each service's launch settings use, so the example works as written on a developer's machine.</summary>
    private static int ExamplePort(string service) => service switch
    {
        BackendServices.Inference => 8001,
        BackendServices.Preprocessing => 8002,
        _ => 8003,
    };
}
