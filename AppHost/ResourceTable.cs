using MlPlatform.AppHost.Running;

namespace MlPlatform.AppHost;

/// <summary>The summary printed once everything is up: each replica, its state, process and address.</summary>
internal static class ResourceTable
{
    public static void Print(LocalRun run, string? apiKey, Uri? dashboard)
    {
        var rows = run.Replicas.ToList();
        Console.WriteLine();
        Console.WriteLine($"{"resource",-18}{"state",-11}{"pid",-9}url");
        foreach (var replica in run.Processes)
        {
            Console.WriteLine($"{replica.Name,-18}{replica.State,-11}{replica.ProcessId?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-",-9}{replica.Url}");
        }

        var gateway = rows.FirstOrDefault(r => r.Service.IsExternal);
        if (gateway is not null)
        {
            Console.WriteLine();
            Console.WriteLine($"MlPlatform is up. Predict through the gateway at {gateway.Url}:");
            var keyHeader = string.IsNullOrEmpty(apiKey) ? "" : $"-H 'apikey: {apiKey}' ";
            Console.WriteLine($"  curl -s {gateway.Url}v1/models/mnist:predict {keyHeader}-H 'Content-Type: image/png' --data-binary @models/mnist/example-7.png");
            Console.WriteLine($"API reference: {gateway.Url}docs    Stop: Ctrl+C");
        }

        if (dashboard is not null)
        {
            Console.WriteLine($"Dashboard: {dashboard}");
        }

        Console.WriteLine();
    }
}
