using System.Globalization;
using Microsoft.Extensions.Options;
using MlPlatform.Gateway.Grpc;
using MlPlatform.ServiceDefaults;

namespace MlPlatform.Gateway.Management;

/// <summary>
/// The management port must be a port of its own: shared with a public address, a request there could not be told
/// from a public one, and Kestrel would refuse to listen twice with an error that names no setting.
/// </summary>
internal sealed class ValidateManagementOptions(IConfiguration configuration) : IValidateOptions<ManagementOptions>
{
    private static readonly string GrpcPortKey = $"{GrpcOptions.SectionName}:{nameof(GrpcOptions.GrpcPort)}";

    public ValidateOptionsResult Validate(string? name, ManagementOptions options)
    {
        if (options.ManagementPort is not { } port)
        {
            return ValidateOptionsResult.Success;
        }

        var problems = new List<string>();
        // From configuration rather than IOptions<GrpcOptions>: a bad gRPC port is its own options' problem, reported
        // once by them, not again from here.
        if (int.TryParse(configuration[GrpcPortKey], NumberStyles.Integer, CultureInfo.InvariantCulture, out var grpcPort) && grpcPort == port)
        {
            problems.Add($"{ManagementOptions.Key} is {port}, the same as {GrpcPortKey}; the management port must be a port of its own.");
        }

        if (Http2Port.RestPorts(configuration).Contains(port))
        {
            problems.Add(
                $"{ManagementOptions.Key} is {port}, a port of the gateway's public addresses (urls, http_ports); " +
                $"the management port must be a port of its own, e.g. {ManagementOptions.ConventionalPort} beside 8080.");
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
