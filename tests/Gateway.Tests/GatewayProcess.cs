using System.Globalization;
using MlPlatform.TestSupport;

namespace MlPlatform.Gateway.Tests;

/// <summary>Starts the gateway as a real process, its services given the way the AppHost gives them.</summary>
public static class GatewayProcess
{
    /// <summary>
    /// Starts the gateway with <paramref name="services"/> as its replicas, each service's in index order, and a
    /// management port of its own (<see cref="ServiceProcess.ManagementClient"/>) unless the settings give one.
    /// </summary>
    public static Task<ServiceProcess> StartAsync(IReadOnlyDictionary<string, Uri[]> services, IReadOnlyDictionary<string, string?>? settings = null) =>
        ServiceProcess.StartGatewayAsync(Environment(services, settings));

    public static Dictionary<string, string?> Environment(IReadOnlyDictionary<string, Uri[]> services, IReadOnlyDictionary<string, string?>? settings = null)
    {
        // Tests of routing and replicas send no API key and more than 5 requests a second: policies are off
        // unless a test's settings switch them on.
        var environment = new Dictionary<string, string?>();
        foreach (var group in RouteGroups)
        {
            environment[$"Gateway__KeyAuth__RouteGroups__{group}"] = "false";
            environment[$"Gateway__RateLimiting__RouteGroups__{group}"] = "false";
        }

        foreach (var (service, replicas) in services)
        {
            for (var i = 0; i < replicas.Length; i++)
            {
                environment[$"services__{service}__http__{i.ToString(CultureInfo.InvariantCulture)}"] = replicas[i].ToString().TrimEnd('/');
            }
        }

        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            environment[key] = value;
        }

        return environment;
    }

    public static readonly string[] RouteGroups = ["predict", "inference", "preprocessing", "postprocessing", "grpc"];

    /// <summary>Every backend service played by the same replicas.</summary>
    public static Dictionary<string, Uri[]> AllServices(params StandIn[] replicas) => new()
    {
        ["preprocessing"] = replicas.Select(r => r.Address).ToArray(),
        ["inference"] = replicas.Select(r => r.Address).ToArray(),
        ["postprocessing"] = replicas.Select(r => r.Address).ToArray(),
    };

    /// <summary>A loopback address nothing listens on: connections to it are refused.</summary>
    public static Uri ClosedAddress() => new($"http://127.0.0.1:{LoopbackPort.Free().ToString(CultureInfo.InvariantCulture)}");
}
