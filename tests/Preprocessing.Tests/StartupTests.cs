using MlPlatform.TestSupport;

namespace MlPlatform.Preprocessing.Tests;

/// <summary>Settings are checked when the service starts, not when the first request needs them.</summary>
public sealed class StartupTests
{
    [Theory]
    [InlineData("Preprocessing__MaxImagePixels", "0", "error: Preprocessing:MaxImagePixels: ")]
    [InlineData("Preprocessing__MaxRequestBodyBytes", "10", "error: Preprocessing:MaxRequestBodyBytes: ")]
    [InlineData("Preprocessing__MaxRequestBodyBytes", "ten", "error: Preprocessing:MaxRequestBodyBytes: ")]
    public async Task Start_InvalidSetting_ExitsNamingIt(string variable, string value, string expectedStart)
    {
        await using var service = ServiceProcess.Launch("Services/Preprocessing", "MlPlatform.Preprocessing", new Dictionary<string, string?>
        {
            ["services__inference__http__0"] = "http://127.0.0.1:9",
            [variable] = value,
        });

        var exitCode = await service.WaitForExitAsync(TimeSpan.FromSeconds(30));

        // The output stream may still be draining after the exit.
        await Task.Delay(200);
        Assert.Equal(1, exitCode);
        var error = Assert.Single(service.Output.Split(Environment.NewLine), line => line.StartsWith("error: ", StringComparison.Ordinal));
        Assert.StartsWith(expectedStart, error, StringComparison.Ordinal);
        // One line, not an unhandled exception's stack trace.
        Assert.DoesNotContain("Unhandled exception", service.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", service.Output, StringComparison.Ordinal);
    }
}
