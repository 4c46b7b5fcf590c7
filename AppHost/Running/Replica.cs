using System.Diagnostics;
using MlPlatform.AppHost.Model;

namespace MlPlatform.AppHost.Running;

/// <summary>One replica of a service: its build output run with <c>dotnet</c>, healthy when its health path answers 2xx.</summary>
public sealed class Replica : SupervisedProcess
{
    private readonly HttpClient _healthClient;

    internal Replica(ServiceResource service, int index, int port, string host, IReadOnlyDictionary<string, string> environment, ConsoleLog console, HttpClient healthClient)
        : base(port, new Uri($"http://{host}:{port}"), environment, console)
    {
        Service = service;
        Index = index;
        _healthClient = healthClient;
    }

    public ServiceResource Service { get; }

    public int Index { get; }

    /// <summary><c>{service}-{index}</c>: the prefix of its console lines.</summary>
    public override string Name => $"{Service.Name}-{Index}";

    private protected override ProcessStartInfo CreateStartInfo()
    {
        var assembly = BuildLayout.ServiceAssembly(Service.ProjectDirectory, Service.AssemblyName);
        if (!File.Exists(assembly))
        {
            throw new InvalidOperationException($"{assembly} is missing; build the solution (dotnet build MlPlatform.sln) or run the AppHost with dotnet run --project AppHost");
        }

        var startInfo = new ProcessStartInfo("dotnet") { WorkingDirectory = BuildLayout.Root };
        startInfo.ArgumentList.Add(assembly);
        // appsettings.json sits beside the assembly; without this the host would look in the working directory.
        startInfo.Environment["DOTNET_CONTENTROOT"] = Path.GetDirectoryName(assembly);
        return startInfo;
    }

    private protected override async Task<bool> IsHealthyAsync(CancellationToken cancellationToken)
    {
        using var response = await _healthClient.GetAsync(new Uri(Url, Service.HealthCheckPath ?? "/"), cancellationToken).ConfigureAwait(false);
        return response.IsSuccessStatusCode;
    }
}
