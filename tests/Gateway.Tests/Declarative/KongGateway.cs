using System.Globalization;
using MlPlatform.TestSupport;

namespace MlPlatform.Gateway.Tests.Declarative;

/// <summary>A gateway process configured by a declarative file the test writes, in a folder of its own.</summary>
public sealed class KongGateway : IAsyncDisposable
{
    public const string AdminToken = "admin-token-0123456789abcdef";

    private KongGateway(string directory, string file, ServiceProcess process)
    {
        Directory = directory;
        File = file;
        Process = process;
    }

    public string Directory { get; }

    public string File { get; }

    public ServiceProcess Process { get; }

    public HttpClient Client => Process.Client;

    /// <summary>
    /// Starts the gateway with <paramref name="yaml"/> as its <c>kong.yml</c>; <paramref name="services"/> are what service
    /// discovery knows (the platform's three services are stood in by <paramref name="services"/>' first entry when missing).
    /// </summary>
    public static async Task<KongGateway> StartAsync(string yaml, IReadOnlyDictionary<string, Uri[]> services, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var directory = Path.Combine(Path.GetTempPath(), "mlplatform-kong-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        var file = Path.Combine(directory, "kong.yml");
        await System.IO.File.WriteAllTextAsync(file, yaml);
        var all = new Dictionary<string, Uri[]>(services);
        foreach (var platform in new[] { "preprocessing", "inference", "postprocessing" })
        {
            all.TryAdd(platform, services.Values.First());
        }

        var environment = new Dictionary<string, string?>
        {
            ["Gateway__DeclarativeConfig"] = file,
            ["Gateway__AdminToken"] = AdminToken,
            ["Gateway__RateLimiting__ExposeWindowStart"] = "true",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            environment[key] = value;
        }

        var process = await GatewayProcess.StartAsync(all, environment);
        return new KongGateway(directory, file, process);
    }

    /// <summary>Replaces the file as an editor or a ConfigMap update does: written beside it, then moved over it.</summary>
    public async Task RewriteAsync(string yaml)
    {
        var next = Path.Combine(Directory, "kong.yml." + Guid.NewGuid().ToString("N", CultureInfo.InvariantCulture));
        await System.IO.File.WriteAllTextAsync(next, yaml);
        System.IO.File.Move(next, File, overwrite: true);
    }

    public async ValueTask DisposeAsync()
    {
        await Process.DisposeAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A temporary folder left behind is harmless.
        }
    }
}

/// <summary>A gateway routed by <paramref name="yaml"/> to one stand-in service, <c>alpha</c>, for a test class to share.</summary>
public abstract class AlphaKongFixture(string yaml) : IAsyncLifetime
{
    public StandIn Alpha { get; private set; } = null!;

    public KongGateway Gateway { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Alpha = await StandIn.StartAsync("alpha-0");
        Gateway = await KongGateway.StartAsync(yaml, new Dictionary<string, Uri[]> { ["alpha"] = [Alpha.Address] });
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Alpha.DisposeAsync();
    }
}
