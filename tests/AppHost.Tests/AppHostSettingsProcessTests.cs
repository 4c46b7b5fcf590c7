using MlPlatform.AppHost.Tests.Support;

namespace MlPlatform.AppHost.Tests;

/// <summary>
/// A mistyped setting on the AppHost's command line: one line naming it and exit code 2, before anything starts.
/// In a child process, because the AppHost ends its process for it.
/// </summary>
[Collection(ProcessCollection.Name)]
public sealed class AppHostSettingsProcessTests
{
    [Theory]
    [InlineData("--AppHost:Replicas:inference=-1", "AppHost:Replicas:inference")]
    [InlineData("--AppHost:Replicas:inference=65", "AppHost:Replicas:inference")]
    [InlineData("--AppHost:Replicas:gateway=two", "AppHost:Replicas:gateway")]
    [InlineData("--AppHost:Replicas:foo=1", "AppHost:Replicas:foo")]
    [InlineData("--AppHost:GatewayPort=70000", "AppHost:GatewayPort")]
    [InlineData("--AppHost:GatewayGrpcPort=0", "AppHost:GatewayGrpcPort")]
    [InlineData("--AppHost:GatewayGrpcPort=8080", "AppHost:GatewayGrpcPort")]
    [InlineData("--AppHost:Gateway:RateLimitPolicy=shared", "AppHost:Gateway:RateLimitPolicy")]
    [InlineData("--AppHost:ModelRepository=/no/such/models", "AppHost:ModelRepository")]
    public async Task Run_BadSetting_ExitsTwoWithALineNamingIt(string setting, string named)
    {
        var result = await ChildProcess.AppHostAsync(setting);

        Assert.True(result.ExitCode == 2, result.ToString());
        var line = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        Assert.Contains(named, line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Console, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", result.Console, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_SeveralBadSettings_NamesEach()
    {
        var result = await ChildProcess.AppHostAsync("--AppHost:Replicas:foo=1", "--AppHost:GatewayPort=0", "--AppHost:Replicas:inference=-1");

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("error: AppHost:Replicas:foo", result.Error, StringComparison.Ordinal);
        Assert.Contains("error: AppHost:GatewayPort", result.Error, StringComparison.Ordinal);
        Assert.Contains("error: AppHost:Replicas:inference", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Console, StringComparison.Ordinal);
    }
}
