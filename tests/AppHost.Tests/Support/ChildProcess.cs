using System.Diagnostics;

namespace MlPlatform.AppHost.Tests.Support;

/// <summary>What a command printed and how it ended.</summary>
internal sealed record CommandResult(int ExitCode, string Output, string Error)
{
    public string Console => Output + Error;

    public override string ToString() => $"exit code {ExitCode}{Environment.NewLine}{Console}";
}

/// <summary>
/// Runs a command from the repository root as a person would, with the Development environment and none of
/// the OpenTelemetry settings the test runner may pass on.
/// </summary>
internal static class ChildProcess
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(90);

    /// <summary>Runs the built AppHost: <c>dotnet AppHost/bin/.../MlPlatform.AppHost.dll {args}</c>.</summary>
    public static Task<CommandResult> AppHostAsync(params string[] args) =>
        RunAsync("dotnet", [AppHostPaths.AppHostAssembly, .. args]);

    public static async Task<CommandResult> RunAsync(string fileName, IEnumerable<string> args, TimeSpan? timeout = null)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppHostPaths.Root,
        };
        foreach (var arg in args)
        {
            startInfo.ArgumentList.Add(arg);
        }

        foreach (var key in startInfo.Environment.Keys.Where(k => k.StartsWith("OTEL_", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            startInfo.Environment.Remove(key);
        }

        startInfo.Environment["DOTNET_ENVIRONMENT"] = "Development";
        startInfo.Environment["NO_COLOR"] = "1";
        startInfo.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        startInfo.Environment["ASPIRE_CLI_TELEMETRY_OPTOUT"] = "1";

        using var process = Process.Start(startInfo)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        var limit = timeout ?? DefaultTimeout;
        using var deadline = new CancellationTokenSource(limit);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            throw new TimeoutException($"{fileName} {string.Join(' ', startInfo.ArgumentList)} did not exit within {limit}:{Environment.NewLine}{await output}{await error}");
        }

        return new CommandResult(process.ExitCode, await output, await error);
    }
}

/// <summary>
/// The tests that start processes run one at a time: the Aspire CLI builds the AppHost the others run, and two
/// cores are enough for one of them at a time.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessCollection
{
    public const string Name = "AppHost processes";
}
