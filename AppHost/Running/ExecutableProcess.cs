using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using MlPlatform.AppHost.Model;

namespace MlPlatform.AppHost.Running;

/// <summary>
/// An executable resource (Redis) run from PATH on a loopback port: healthy once it answers a
/// Redis <c>PING</c>, which proves it accepts commands and not only connections.
/// </summary>
public sealed class ExecutableProcess : SupervisedProcess
{
    private static readonly byte[] Ping = "PING\r\n"u8.ToArray();

    internal ExecutableProcess(ExecutableResource resource, int port, ConsoleLog console)
        : base(port, new Uri($"tcp://127.0.0.1:{port}"), new Dictionary<string, string>(), console)
    {
        Resource = resource;
    }

    public ExecutableResource Resource { get; }

    public override string Name => $"{Resource.Name}-0";

    /// <summary>What services that reference it get as <c>ConnectionStrings__{name}</c>.</summary>
    public string ConnectionString => ExecutableResource.ConnectionString("127.0.0.1", Port);

    /// <summary>The full path of the command on PATH, or null when this machine lacks it.</summary>
    public static string? FindOnPath(string command) =>
        (System.Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, command))
            .FirstOrDefault(File.Exists);

    private protected override ProcessStartInfo CreateStartInfo()
    {
        var path = FindOnPath(Resource.Command)
            ?? throw new InvalidOperationException($"{Resource.Command} is not on PATH; {Resource.InstallHint}");
        var startInfo = new ProcessStartInfo(path) { WorkingDirectory = Path.GetTempPath() };
        foreach (var argument in Resource.ArgumentsFor(Port))
        {
            startInfo.ArgumentList.Add(argument);
        }

        return startInfo;
    }

    private protected override async Task<bool> IsHealthyAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(2));
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", Port, timeout.Token).ConfigureAwait(false);
        var stream = client.GetStream();
        await stream.WriteAsync(Ping, timeout.Token).ConfigureAwait(false);
        var buffer = new byte[64];
        var read = await stream.ReadAsync(buffer, timeout.Token).ConfigureAwait(false);
        return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
    }
}
