using System.Runtime.InteropServices;
using MlPlatform.AppHost;
using MlPlatform.AppHost.Publishing;
using MlPlatform.AppHost.Model;
using MlPlatform.AppHost.Running;
using MlPlatform.Dashboard;

// dotnet run --project AppHost [-- run] [--AppHost:GatewayPort=8080] [--AppHost:Replicas:inference=3]
// dotnet run --project AppHost -- publish --output <dir> [...]
var verb = args.Length > 0 && !args[0].StartsWith('-') ? args[0] : "run";
var settings = args.Length > 0 && !args[0].StartsWith('-') ? args[1..] : args;

if (verb == "publish")
{
    return PublishCommand.Run(settings);
}

if (verb != "run")
{
    Console.Error.WriteLine($"Unknown verb '{verb}'. Usage: dotnet run --project AppHost [-- run] [--AppHost:GatewayPort=<port>] [--AppHost:Replicas:<service>=<n>]");
    Console.Error.WriteLine(PublishOptions.Usage);
    return 2;
}

var configuration = AppHostConfiguration.Build(settings);
ApplicationModel model;
try
{
    model = MlPlatformApplication.Describe(configuration, AppHostConfiguration.ModelRepository(configuration));
}
catch (ArgumentException exception)
{
    Console.Error.WriteLine($"error: {exception.Message}");
    return 2;
}

DashboardOptions dashboardOptions;
try
{
    dashboardOptions = DashboardLauncher.ReadOptions(configuration);
}
catch (ArgumentException exception)
{
    Console.Error.WriteLine($"error: {exception.Message}");
    return 2;
}

var runOptions = new LocalRunOptions();
await using var run = new LocalRun(model, runOptions);

using var shutdown = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    shutdown.Cancel();
};
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    shutdown.Cancel();
});

DashboardServer? dashboard;
try
{
    dashboard = await DashboardLauncher.StartAsync(dashboardOptions, run, runOptions, shutdown.Token);
}
catch (IOException exception)
{
    // Kestrel reports a taken port as an IOException naming the address.
    Console.Error.WriteLine($"error: the dashboard could not start: {exception.Message}. Choose other ports with --Dashboard:UiPort, --Dashboard:OtlpGrpcPort and --Dashboard:OtlpHttpPort, or turn it off with --Dashboard:Enabled=false.");
    return 1;
}

await using var stopDashboard = dashboard;
if (dashboard is not null)
{
    run.Console.Note($"Dashboard: {dashboard.LoginUrl}");
    run.Console.Note($"OTLP receiver: {dashboard.OtlpGrpcEndpoint} (gRPC), {dashboard.OtlpHttpEndpoint} (HTTP/protobuf), header x-otlp-api-key");
}

try
{
    await run.StartAsync(shutdown.Token);
}
catch (InvalidOperationException exception)
{
    run.Console.Note(exception.Message);
    return 1;
}
catch (OperationCanceledException)
{
    return 0;
}

// The key the gateway's development consumer accepts (its hash is in Gateway/appsettings.json), shown so the first curl works.
ResourceTable.Print(run, configuration["AppHost:DevelopmentApiKey"], dashboard?.LoginUrl);

try
{
    await Task.Delay(Timeout.Infinite, shutdown.Token);
}
catch (OperationCanceledException)
{
}

run.Console.Note("Stopping every replica...");
return 0;
