using System.Globalization;

namespace MlPlatform.AppHost.Model;

/// <summary>
/// A program of the application that is not one of its .NET projects (Redis): run from PATH on this
/// machine, published as a container image in a cluster.
/// </summary>
public sealed class ExecutableResource
{
    private readonly Func<int, IReadOnlyList<string>> _arguments;

    internal ExecutableResource(string name, string command, Func<int, IReadOnlyList<string>> arguments, int targetPort, string image, string installHint)
    {
        Name = name;
        Command = command;
        _arguments = arguments;
        TargetPort = targetPort;
        Image = image;
        InstallHint = installHint;
    }

    /// <summary>Kebab-case, DNS-safe, like a service's: it names the process, the connection string and Kubernetes objects.</summary>
    public string Name { get; }

    /// <summary>The program looked up on PATH by a local run, for example <c>redis-server</c>.</summary>
    public string Command { get; }

    /// <summary>The port it listens on inside its container.</summary>
    public int TargetPort { get; }

    /// <summary>The public image a cluster runs it from.</summary>
    public string Image { get; }

    /// <summary>What to tell someone whose machine lacks <see cref="Command"/>.</summary>
    public string InstallHint { get; }

    /// <summary>The arguments for a process that listens on loopback <paramref name="port"/>.</summary>
    public IReadOnlyList<string> ArgumentsFor(int port) => _arguments(port);

    /// <summary>The connection string a referencing service gets as <c>ConnectionStrings__{name}</c>: <c>host:port</c>, as Aspire gives Redis.</summary>
    public static string ConnectionString(string host, int port) => string.Create(CultureInfo.InvariantCulture, $"{host}:{port}");
}
