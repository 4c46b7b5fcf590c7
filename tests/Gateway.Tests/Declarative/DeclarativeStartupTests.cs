using System.Net;
using System.Text.Json;
using MlPlatform.TestSupport;

namespace MlPlatform.Gateway.Tests.Declarative;

/// <summary>
/// A declarative file the gateway cannot serve stops start-up with one line per problem, the file and the problem's
/// path first, and no stack trace, as <c>kong config parse</c> reports; a key given in the file never shows.
/// </summary>
public sealed class DeclarativeStartupTests
{
    private const string SecretKey = "secret-key-must-not-show";

    [Fact]
    public async Task Start_BrokenFile_ExitsWithOneLinePerProblem()
    {
        var directory = Directory.CreateTempSubdirectory("mlplatform-kong-").FullName;
        var file = Path.Combine(directory, "kong.yml");
        await File.WriteAllTextAsync(file, $$"""
            _format_version: "3.0"
            services:
            - name: a
              url: http://a
              plugins:
              - name: rate-limiting
                config: {second: 10, minute: 5}
            - name: a
              url: ftp://b
            consumers:
            - username: c
              keyauth_credentials:
              - key: {{SecretKey}}
              - key: {{SecretKey}}
            plugins:
            - name: key-auth
              config: {anonymous: nobody}
            - name: no-such-plugin
            """);
        try
        {
            await using var gateway = ServiceProcess.Launch("Gateway", "MlPlatform.Gateway", GatewayProcess.Environment(Services(), new Dictionary<string, string?>
            {
                ["Gateway__DeclarativeConfig"] = file,
            }));
            var exitCode = await gateway.WaitForExitAsync(TimeSpan.FromSeconds(30));

            Assert.Equal(1, exitCode);
            var lines = gateway.Output.Split('\n').Select(line => line.TrimEnd('\r')).Where(line => line.StartsWith("error: ", StringComparison.Ordinal)).ToArray();
            Assert.All(lines, line => Assert.StartsWith($"error: {file}: ", line, StringComparison.Ordinal));
            Assert.Contains(lines, line => line.Contains("services[0].plugins[0].config", StringComparison.Ordinal));
            Assert.Contains(lines, line => line.Contains("services[1]: uniqueness violation", StringComparison.Ordinal));
            Assert.Contains(lines, line => line.Contains("services[1].url", StringComparison.Ordinal));
            Assert.Contains(lines, line => line.Contains("keyauth_credentials[1]", StringComparison.Ordinal));
            Assert.Contains(lines, line => line.Contains("plugins[1].name", StringComparison.Ordinal));
            Assert.True(lines.Length >= 5, string.Join(Environment.NewLine, lines));
            Assert.DoesNotContain("   at ", gateway.Output, StringComparison.Ordinal);
            Assert.DoesNotContain(SecretKey, gateway.Output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Theory]
    [InlineData("_format_version: \"3.0\"\nplugins:\n- name: key-auth\n  config: {anonymous: nobody}\n", "plugins[0].config.anonymous")]
    [InlineData("", "expected a record")]
    public async Task Start_FileThatParsesButCannotBeServed_OrIsEmpty_ExitsNamingIt(string yaml, string expected)
    {
        var directory = Directory.CreateTempSubdirectory("mlplatform-kong-").FullName;
        var file = Path.Combine(directory, "kong.yml");
        await File.WriteAllTextAsync(file, yaml);
        try
        {
            await using var gateway = ServiceProcess.Launch("Gateway", "MlPlatform.Gateway", GatewayProcess.Environment(Services(), new Dictionary<string, string?>
            {
                ["Gateway__DeclarativeConfig"] = file,
            }));
            Assert.Equal(1, await gateway.WaitForExitAsync(TimeSpan.FromSeconds(30)));
            Assert.Contains($"error: {file}: ", gateway.Output, StringComparison.Ordinal);
            Assert.Contains(expected, gateway.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", gateway.Output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Theory]
    [InlineData("/no/such/kong.yml", null, "cannot read the file")]
    [InlineData(null, "short", "Gateway:AdminToken")]
    public async Task Start_MissingFileOrShortToken_ExitsNamingIt(string? file, string? token, string expected)
    {
        await using var gateway = ServiceProcess.Launch("Gateway", "MlPlatform.Gateway", GatewayProcess.Environment(Services(), new Dictionary<string, string?>
        {
            ["Gateway__DeclarativeConfig"] = file,
            ["Gateway__AdminToken"] = token,
        }));
        Assert.Equal(1, await gateway.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains(expected, gateway.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", gateway.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("short", gateway.Output.Replace("shortest", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    private static Dictionary<string, Uri[]> Services()
    {
        var closed = GatewayProcess.ClosedAddress();
        return new Dictionary<string, Uri[]> { ["preprocessing"] = [closed], ["inference"] = [closed], ["postprocessing"] = [closed] };
    }
}
