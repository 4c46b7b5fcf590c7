using Microsoft.Extensions.Options;
using MlPlatform.Gateway.Routes;

namespace MlPlatform.Gateway.Grpc;

/// <summary>
/// A gRPC port needs inference's gRPC endpoint to forward to: service discovery's keys
/// <c>services:inference:grpc:{index}</c>, which the AppHost sets. Every problem names its key.
/// </summary>
internal sealed class ValidateGrpcOptions(IConfiguration configuration) : IValidateOptions<GrpcOptions>
{
    public ValidateOptionsResult Validate(string? name, GrpcOptions options)
    {
        if (options.GrpcPort is null)
        {
            return ValidateOptionsResult.Success;
        }

        var problems = new List<string>();
        var section = configuration.GetSection($"services:{BackendServices.Inference}:{GrpcRoute.InferenceEndpoint}");
        var addresses = section.GetChildren().ToArray();
        if (addresses.Length == 0)
        {
            var key = $"{section.Path}:0";
            problems.Add(
                $"{key} is missing: with {GrpcOptions.SectionName}:{nameof(GrpcOptions.GrpcPort)} set the gateway forwards gRPC to inference's grpc endpoint. " +
                $"Set it, e.g. {key.Replace(":", "__", StringComparison.Ordinal)}=http://localhost:8081.");
        }

        foreach (var address in addresses)
        {
            if (!Uri.TryCreate(address.Value, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            {
                problems.Add($"{address.Path} is '{address.Value}'; it must be an absolute http:// or https:// address such as http://localhost:8081.");
            }
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
